"""docs-diff reads a page in each shape it comes in: the text a browser saves (the seeds), the
docs site's MDX source (``<ParamField>`` components) and a Markdown field table, English or
the Chinese page's. The other shapes are written here from the seed pages, so each shape says
what the seed says and must meet the spec the same way; then edits in those shapes are reported."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import seeds

from vidgate.cli import main
from vidgate.spectools import docs_diff

pytestmark = pytest.mark.docs
BODY_PAGES = [p for p in seeds.pages() if "\nBody\n" in p.text]  # the Mintlify text shape
SPECS = Path(__file__).resolve().parent.parent / "specs"
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
KINDS = ("string", "enum<string>", "integer", "number", "boolean", "object", "object[]")


@dataclass
class Field:
    name: str
    type: str
    required: bool = False
    default: str | None = None
    options: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # the description, bullets included


def seed_fields(text: str) -> tuple[str, list[Field]]:
    """The seed page's request example (its first line, the curl call) and its Body fields, as
    the page writes them (a `Required range:` or `Maximum array length:` line stays in the
    description)."""
    lines = text.splitlines()
    body = lines[lines.index("Body") + 1 : lines.index("Response")]
    example = next(x for x in lines if '"model"' in x)
    fields: list[Field] = []
    i = 0
    while i < len(body):
        if NAME.match(body[i].strip()) and i + 1 < len(body) and body[i + 1].strip() in KINDS:
            fields.append(Field(body[i].strip(), body[i + 1].strip()))
            i += 2
            continue
        line = body[i].strip()
        if fields and line == "required" and not fields[-1].text:
            fields[-1].required = True
        elif fields and line.startswith("default:"):
            fields[-1].default = line.removeprefix("default:")
        elif fields and line == "Available options:":
            while body[i + 1].strip().endswith(","):
                i += 1
                fields[-1].options.append(body[i].strip().rstrip(","))
            i += 1
            fields[-1].options.append(body[i].strip())
        elif fields and line:
            fields[-1].text.append(body[i].rstrip())
        i += 1
    return example, fields


MDX_TYPES = {"enum<string>": "string", "boolean": "boolean", "object[]": "object[]"}


def to_mdx(text: str) -> str:
    example, fields = seed_fields(text)
    out = ["---", "title: a model", "api: POST /v1/videos/generate", "---", "", "```bash"]
    out += [example, "```", ""]
    for f in fields:
        attrs = f'body="{f.name}" type="{MDX_TYPES.get(f.type, f.type)}"'
        attrs += " required" if f.required else ""
        attrs += f' default="{f.default}"' if f.default is not None else ""
        out.append(f"<ParamField {attrs}>")
        for line in f.text:
            bullet = re.match(r"^(\s*)•\s*(.*)$", line)
            out.append("  " + (f"{' ' * (len(bullet[1]) // 2)}- {bullet[2]}" if bullet else line))
        if f.options:
            out.append("  Available options: " + ", ".join(f"`{o}`" for o in f.options))
        out += ["</ParamField>", ""]
    out += [
        "## Response",
        "",
        '<ResponseField name="task_id" type="string" required>',
        "</ResponseField>",
    ]
    return "\n".join(out) + "\n"


CHINESE = (  # the Chinese page's wording of what the seeds say in English
    (r"Defaults to ([\w:]+(?:\.\d+)?)[.;,]?", r"默认 \1。"),
    (r"\brange (\d+) ~ (\d+)", r"范围 \1 ~ \2"),
    (r"integer in (?:the range )?(\d+) ~ (\d+)", r"取值范围 \1 ~ \2"),
    (r"[Uu]p to (\d+) images", r"最多 \1 张图片"),
    (r"[Uu]p to (\d+) clips", r"最多 \1 段"),
    (r"[Uu]p to (\d+) characters", r"最多 \1 个字符"),
    (r"Only (\d+) image is supported", r"最多 \1 张图片"),
    (r"Only (\d+) clip is supported", r"最多 \1 段"),
)


def to_table(text: str, chinese: bool = False) -> str:
    example, fields = seed_fields(text)
    head = (
        ("参数", "类型", "必填", "默认值", "说明")
        if chinese
        else (
            "Parameter",
            "Type",
            "Required",
            "Default",
            "Description",
        )
    )
    out = ["# 视频生成" if chinese else "# Video generation", "", "```bash", example, "```", ""]
    out += ["## 请求参数" if chinese else "## Request", ""]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in fields:
        words = [line.rstrip() for line in f.text]
        if f.options:
            label = "可选值\uff1a" if chinese else "Available options: "
            words.append(label + ", ".join(f.options))
        description = "<br>".join(words).replace("|", "/")
        if chinese:
            for old, new in CHINESE:
                description = re.sub(old, new, description)
        yes, no = ("是", "否") if chinese else ("yes", "no")
        cells = [f"`{f.name}`", f.type, yes if f.required else no, f.default or "-", description]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "## 响应" if chinese else "## Response", "", "| task_id | string | yes | - | id |"]
    return "\n".join(out) + "\n"


SHAPES: dict[str, Callable[[str], str]] = {
    "mdx": to_mdx,
    "table": to_table,
    "chinese table": lambda text: to_table(text, chinese=True),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("page", BODY_PAGES, ids=lambda p: p.path.name)
def test_a_page_in_another_shape_meets_the_spec(page: seeds.Page, shape: str) -> None:
    text = SHAPES[shape](page.text)
    assert "\nBody\n" not in text  # not read as browser text by accident
    fields = docs_diff.parse_page(text)
    seed = docs_diff.parse_page(page.text)
    assert list(fields) == list(seed)
    for name, pf in fields.items():  # what the seed states, this shape states
        ours = seed[name]
        assert (pf.type, pf.items, pf.required, pf.default) == (
            ours.type,
            ours.items,
            ours.required,
            ours.default,
        ), name
        assert pf.options == ours.options, name
        assert set(pf.children) == set(ours.children), name
        assert (pf.minimum, pf.maximum) == (ours.minimum, ours.maximum), name
        assert (pf.max_items, pf.max_length) == (ours.max_items, ours.max_length), name
        assert set(pf.conflicts) == set(ours.conflicts), name  # its prose is read, Chinese too
    # the same differences with the spec as the page in the browser's shape (none, as a rule)
    assert _verdicts(text, page) == _verdicts(page.text, page)


def _verdicts(text: str, page: seeds.Page) -> set[tuple[object, ...]]:
    found = docs_diff.diff_page(text, page.gateway, docs_diff.page_model(text))
    return {(d.field, d.kind, repr(d.page), repr(d.spec), d.explained) for d in found}


def _kling() -> seeds.Page:
    return next(p for p in BODY_PAGES if p.model == "kling/kling-v3")


@pytest.mark.parametrize("shape", SHAPES)
def test_an_edit_in_another_shape_is_reported(shape: str) -> None:
    """The maximum duration moved in the prose only (a CONFLICT with the structured line: the
    prose is read, Chinese too), and the default resolution moved; each reported at the line of
    the page as written."""
    page = _kling()
    text = SHAPES[shape](page.text)
    fields = docs_diff.parse_page(text)
    duration, resolution = fields["duration"], fields["resolution"]
    assert duration.maximum is not None
    assert resolution.default is not None
    lower = duration.maximum - 1
    other = next(o for o in resolution.options or [] if o != resolution.default)
    edited, n = re.subn(rf"(~ ){duration.maximum}\b", rf"\g<1>{lower}", text)
    assert n == 1, "the kling-v3 page changed: update this edit"
    edited = re.sub(rf"\b{resolution.default}\b(?!,)", other, edited, count=2)
    diffs = {
        f"{d.field}: {d.kind}": d
        for d in docs_diff.diff_page(edited, page.gateway, page.model)
        if not d.explained
    }
    assert set(diffs) == {"duration: maximum", "resolution: default"}, list(
        map(str, diffs.values())
    )
    maximum = diffs["duration: maximum"]
    assert maximum.page == duration.maximum
    assert maximum.conflict is not None
    assert f"says {lower} (" in maximum.conflict
    line = int(maximum.conflict.split()[1])  # "line N says ..."
    assert f"~ {lower}" in edited.splitlines()[line - 1]
    assert diffs["resolution: default"].page == other


def test_cli_reads_an_mdx_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _kling()
    text = to_mdx(page.text)
    maximum = docs_diff.parse_page(text)["duration"].maximum
    assert maximum is not None
    edited = tmp_path / "kling-v3.mdx"
    text = re.sub(rf"(~ |<= x <= ){maximum}\b", rf"\g<1>{maximum - 2}", text)
    edited.write_text(text, encoding="utf-8")
    copy = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy), "--apply"])
    assert done.value.code == 0
    assert f"wrote duration: maximum = {maximum - 2}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 0


def test_a_page_in_no_known_shape_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "notes.md"
    page.write_text('# Notes\n\n"model": "kling/kling-v3"\n\nNothing about fields.\n')
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page), "--spec", str(SPECS / "imini.yaml")])
    assert done.value.code == 2
    assert "no <ParamField> and no field table" in capsys.readouterr().err


def test_mdx_header_and_one_line_fields() -> None:
    """A header parameter's text is no body field's; a one-line component keeps its text."""
    page = _kling()
    text = to_mdx(page.text)
    duration = docs_diff.parse_page(text)["duration"]
    assert duration.maximum is not None
    header = '<ParamField header="Authorization" type="string" required>\n  Defaults to 99.\n'
    one_line = (
        f'<ParamField body="duration" type="integer" default="{duration.default}">Seconds; '
        f"range {duration.minimum} ~ {duration.maximum}.</ParamField>\n"
    )
    text = re.sub(
        r'<ParamField body="duration".*?</ParamField>\n', lambda _: one_line, text, flags=re.S
    )
    text = text.replace(
        '<ParamField body="generate_audio"',
        header + "</ParamField>\n\n" + '<ParamField body="generate_audio"',
    )
    fields = docs_diff.parse_page(text)
    assert (fields["duration"].minimum, fields["duration"].maximum) == (
        duration.minimum,
        duration.maximum,
    )
    assert "Authorization" not in fields
    assert fields["duration"].conflicts == {}  # the header's "Defaults to 99." is not its own
    assert _verdicts(text, page) == _verdicts(page.text, page)
