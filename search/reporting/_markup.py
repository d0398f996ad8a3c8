"""The report as Markdown and as a self-contained HTML page (figures embedded), from a list of blocks."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

Block = tuple  # ("h1"|"h2"|"h3"|"p"|"pre"|"table"|"img"|"ul", ...)


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "h3":
            out.append(f"### {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "pre":
            out.append(f"```\n{block[1]}\n```")
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows = block[1], block[2]
            lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{block[2]}]({block[1]})\n\n*{block[2]}*")
    return "\n\n".join(out) + "\n"


_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h3 { font-size: 1.05em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; } td.num { text-align: right; white-space: nowrap; }
th { background: #f3f3f3; text-align: left; } td.text { text-align: left; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 3px; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
"""


def to_html(blocks: list[Block], run_dir: Path, *, title: str) -> str:
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           f"<style>{_STYLE}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(block[1])}</pre>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(cell)}</th>" for cell in header)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(_cell(cell, first=index == 0) for index, cell in enumerate(row)) + "</tr>" for row in rows)
                       + "</tbody></table>")
        elif kind == "img":
            data = base64.b64encode((run_dir / block[1]).read_bytes()).decode()
            out.append(f"<figure><img alt=\"{html.escape(block[2])}\" src=\"data:image/png;base64,{data}\">"
                       f"<figcaption>{_inline(block[2])}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _cell(text: str, *, first: bool = False) -> str:
    """A table cell: figures right-aligned, words (and the first column's names) left-aligned."""
    numeric = not first and bool(re.match(r"^[-+]?[0-9]", text))
    return f"<td class=\"{'num' if numeric else 'text'}\">{_inline(text)}</td>"


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` to HTML, everything else escaped."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
