"""The peer for bench/page_bench.py: the smallest Streamlit page that does what the timed steps do
(a notice box to wait for; a letter box and a button whose answer is drawn), so the bench can tell
Streamlit's own cost from the app's."""

import streamlit as st

st.text_area("Paste the notice Amazon sent")
tab_draft, tab_check = st.tabs(["Draft from a notice", "Critique a POA"])
with tab_check:
    letter = st.text_area("Paste your Plan of Action")
    if st.button("Check", type="primary"):
        st.caption(f"Checked by: peer · {len(letter.split())} words")
