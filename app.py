"""The hub: every chapter's playground in one Streamlit app.

    streamlit run app.py

Pages run through ``st.navigation`` are executed in this process with this file's folder on
``sys.path``, not their own, so the hub puts every chapter folder on the path itself (chapter module names
are unique across the course for exactly this reason).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from common.chapters import CHAPTERS  # noqa: E402
from common.playground import keep_widget_state  # noqa: E402

for chapter in CHAPTERS:
    folder = str(ROOT / chapter.folder)
    if folder not in sys.path:
        sys.path.insert(1, folder)


def home() -> None:
    st.title("Perceptrons to Transformers")
    st.markdown(
        "A deep-learning course built from first principles in NumPy: every layer written once, every "
        "gradient checked, every number on these pages computed by the code. Each chapter follows one post "
        "of the series *From Perceptrons to Transformers*; read the post, then play with the idea here. The "
        "last chapter puts the pieces together: a small GPT, trained in NumPy, writing Shakespeare."
    )
    lines = ["| chapter | blog post | the playground shows | status |", "|---|---|---|---|"]
    for ch in CHAPTERS:
        status = "ready" if ch.playground.exists() else "coming soon"
        lines.append(f"| {ch.label} | [{ch.post_title}]({ch.post_url}) | {ch.shows} | {status} |")
    st.subheader("The chapter map")
    st.markdown("\n".join(lines))
    st.subheader("Open a chapter")
    for part in dict.fromkeys(ch.part for ch in CHAPTERS):
        st.markdown(f"**{part}**")
        for ch in (c for c in CHAPTERS if c.part == part):
            if ch.playground.exists():
                st.page_link(st.Page(str(ch.playground), title=ch.label, url_path=ch.url_path),
                             label=f"{ch.label}: {ch.shows}")
            else:
                st.markdown(f"- {ch.label}: coming soon ([read the post]({ch.post_url}))")


st.set_page_config(page_title="Perceptrons to Transformers", page_icon="🧠", layout="wide")
pages = {"Start here": [st.Page(home, title="Home", icon=":material/home:", default=True)]}
for ch in CHAPTERS:
    if ch.playground.exists():
        pages.setdefault(ch.part, []).append(st.Page(str(ch.playground), title=ch.label, url_path=ch.url_path))
page = st.navigation(pages)
keep_widget_state()          # settings survive switching chapters and coming back
page.run()
