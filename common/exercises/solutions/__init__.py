"""Reference solutions to the chapter notebooks' exercises, one file per chapter (``ch01_perceptron.py``
for ``01-perceptron/perceptron.ipynb``, …).

Open one on purpose, after trying: the notebooks never import from here. The tests run every checker in
``common.exercises`` on these functions, so each of them is known to pass.
"""
