"""Charts show names other parties chose (question names, output columns, group values) as text:
Plotly reads a subset of HTML in titles, legends and tick labels (links, styles)."""

from __future__ import annotations

from workbench.wire.questions import RunResult
from widgets.charts import result_figure

LINK = "<a href='https://evil.example'>Session expired: sign in</a>"


def test_names_in_a_chart_are_text_not_markup():
    result = RunResult(run_id="r", columns=["region", LINK], rows=[[LINK, 3], ["north", 5]], dp=False,
                       metadata={})
    fig = result_figure(result, LINK, title=LINK)
    shown = [fig.layout.title.text, fig.layout.yaxis.title.text, fig.data[0].name, *fig.data[0].x]
    assert not any("<a " in text for text in shown), shown
    assert all("&lt;a href=" in text for text in shown[:3]) and "&lt;a href=" in fig.data[0].x[0]
