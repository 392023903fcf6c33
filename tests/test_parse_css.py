"""lurelens.parse.css: lengths, hiding declarations, inline styles and sheets that fetch."""

from lurelens.parse.css import hiding_reason, parse_inline_style, parse_sheet, px


def test_lengths():
    assert px("1px") == 1.0 and px("0") == 0.0 and px("2em") == 32.0 and px(None) is None


def test_hiding():
    assert hiding_reason({"display": "none"}) == "display:none"
    assert hiding_reason({"color": "red"}) is None


def test_inline_style_urls():
    st = parse_inline_style("background:url(https://t.example/a.png); display:none")
    assert st.urls == ["https://t.example/a.png"] and st.decls["display"] == "none"


def test_sheet_imports_and_conditions():
    sh = parse_sheet("@import url(https://t.example/s.css); "
                     "@media (max-width:600px){.a{background:url(https://t.example/m.png)}} .h{display:none}")
    assert sh.imports == [("https://t.example/s.css", None)]
    assert (["https://t.example/m.png"], "@media (max-width:600px)") in [(r.urls, r.condition) for r in sh.rules]
    assert sh.media_queries == ["(max-width:600px)"]
