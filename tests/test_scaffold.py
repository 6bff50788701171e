"""`vidgate scaffold`: a model page the spec does not have yet → a draft request schema, and after
`make generate` a model the clients, models, mock, demo and CLI know with no Python edit.

The page is written here for the test (a made-up model, `acme/zephyr-1.0`), in the shape of the
imini pages; its numbers belong to this test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import seeds
import yaml
from referee import Referee
from repocopy import copy_repo

from vidgate.cli import main
from vidgate.spectools import docs_diff, scaffold, specfile

ROOT = Path(__file__).resolve().parent.parent
MODEL = "acme/zephyr-1.0"
SCHEMA = "Zephyr10Request"
EXAMPLE = {
    "model": MODEL,
    "prompt": "A lighthouse in a storm",
    "resolution": "1080P",
    "duration": 6,
}
PAGE = f"""Skip to main content
POST
/
v1
/
videos
/
generate
curl --request POST \\ --url https://openapi.imini.ai/imini/router/v1/videos/generate \\ --data '
{json.dumps(EXAMPLE)}
'
{{
  "task_id": "task_2042864638838083584",
  "model": "{MODEL}",
  "created_at": "2026-04-11T07:17:39.146Z",
  "request_id": "291a4117-9df8-4349-aee1-bdf8ffcacb9a"
}}

Authorizations

Authorization
string
header
required

Pass Authorization: Bearer <YOUR_API_KEY> in the request header.

Body

application/json
model
string
required

Fixed value {MODEL}.

prompt
string
required

The prompt. Up to 1200 characters.

resolution
enum<string>
default:720P

Output resolution. Defaults to 720P.

Available options:
720P,
1080P
aspect_ratio
enum<string>
default:16:9

Output aspect ratio. Ignored in image-to-video mode.

Available options:
16:9,
9:16,
4:3
duration
integer
default:5

Video duration in seconds. Defaults to 5.

Required range: 2 <= x <= 12
generate_audio
boolean
default:true

Whether to generate audio.

reference_images
object[]

Reference images. One image with first_frame switches to image-to-video mode; reference_images \
and reference_videos are mutually exclusive (400 mixed_media_not_allowed).

Image constraints: Format: jpg / png; File size: ≤ 8 MB.
Maximum array length: 3
camera
enum<integer>

Camera preset. Allowed values: 1, 2, 3.
extra_params
object

Zephyr extension parameters. All optional:

  • seed — integer in [0, 99999]. The same seed gives similar results.
  • watermark — boolean, defaults to false. Adds a watermark.

Response

Submitted successfully (asynchronous mode)

task_id
string

Unique task ID
"""


@pytest.fixture
def draft(tmp_path: Path) -> tuple[specfile.SpecFile, scaffold.Draft]:
    path = tmp_path / "imini.yaml"
    shutil.copy(ROOT / "specs" / "imini.yaml", path)
    source = specfile.load(path)
    made = scaffold.scaffold_page(PAGE, source)
    source.save()
    return specfile.load(path), made


def _schema(source: specfile.SpecFile) -> Any:
    return source.doc["components"]["schemas"][SCHEMA]


def test_the_draft_holds_what_the_page_states(
    draft: tuple[specfile.SpecFile, scaffold.Draft],
) -> None:
    source, made = draft
    schema = _schema(source)
    props = schema["properties"]
    assert made.schema == SCHEMA
    assert list(schema["required"]) == ["model", "prompt"]
    assert props["model"]["const"] == MODEL
    assert props["prompt"]["maxLength"] == 1200
    assert props["resolution"]["enum"] == ["720P", "1080P"]
    assert props["resolution"]["default"] == "720P"
    assert props["aspect_ratio"]["enum"] == ["16:9", "9:16", "4:3"]  # strings, not sexagesimal
    assert (props["duration"]["minimum"], props["duration"]["maximum"]) == (2, 12)
    assert props["duration"]["default"] == 5
    assert props["generate_audio"]["default"] is True
    images = props["reference_images"]
    assert images["maxItems"] == 3
    assert images["items"]["type"] == "object"
    mb = source.doc["info"]["x-vidgate-mb"]["bytes"]
    assert images["x-vidgate-media"]["formats"] == ["jpg", "png"]
    assert images["x-vidgate-media"]["max_bytes"] == 8 * mb
    seed = props["extra_params"]["properties"]["seed"]
    assert (seed["minimum"], seed["maximum"]) == (0, 99999)
    assert props["extra_params"]["properties"]["watermark"]["default"] is False
    for name, prop in props.items():
        assert prop["x-vidgate-source"] == "doc", name
        if name != "model":
            assert prop["x-vidgate-quote"] in PAGE, name  # the page's own words
    # the model is reachable: discriminator, oneOf, and the page's example as the spec's example
    doc = json.loads(json.dumps(source.doc))
    _, op = _submit(doc)
    assert op["examples"]["zephyr_1_0"]["value"] == EXAMPLE
    assert made.example == "the page's request example"


def _submit(doc: Any) -> tuple[Any, Any]:
    from vidgate import spec

    _, op = spec.submit_operation(doc)
    media = op["requestBody"]["content"]["application/json"]
    names = spec.request_schema_names(doc)
    assert names[MODEL] == SCHEMA
    return names, media


def test_what_needs_a_human_is_listed(draft: tuple[specfile.SpecFile, scaffold.Draft]) -> None:
    source, made = draft
    text = "\n".join(made.by_hand)
    assert "modes:" in text  # one draft mode, marked gap
    assert "error code 400 mixed_media_not_allowed" in text
    assert "rule? reference_images:" in text
    assert "mutually exclusive" in text
    unread = "camera: field of type 'enum<integer>' not read" in text
    assert unread != ("camera" in _schema(source)["properties"])  # read, or listed as not read
    assert "reference_images: the page lists no item fields" in text
    chain = _schema(source)["allOf"]
    assert len(chain) == 1
    assert chain[0]["x-vidgate-mode"] == "text"
    assert chain[0]["x-vidgate-source"] == "gap"


def test_the_draft_lints_clean_and_docs_diff_agrees(
    draft: tuple[specfile.SpecFile, scaffold.Draft],
) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from lint_specs import lint_document

    source, _ = draft
    doc = yaml.safe_load(source.path.read_text())
    assert lint_document(doc, "imini") == []
    assert Referee("imini", doc).errors(f"/components/schemas/{SCHEMA}", EXAMPLE) == []
    unexplained = [d for d in docs_diff.diff_page(PAGE, None, MODEL, source) if not d.explained]
    assert [str(d) for d in unexplained if d.field != "camera"] == []


APIMART_PAGE = """POST /v1/videos/generations
--data '{"model": "acme-wave-2", "prompt": "waves", "size": "16:9", "duration": 4}'

Request Parameters

model
string
required
Video generation model name, fixed as acme-wave-2
prompt
string
Video content description, up to 800 characters
size
string
default:"16:9"
Aspect ratioSupported formats:
  • 16:9 - Landscape (default)
  • 4:3 - Landscape
duration
integer
default:"4"
Video duration in secondsSupported range: any integer from 2 to 8
image_urls
array<string>
Reference images, up to 4
Reference image requirements:
  • Format: JPEG / PNG
  • File size: ≤ 5MB

Response
"""


def test_an_apimart_shaped_page_drafts_a_clean_spec(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from lint_specs import lint_document

    path = tmp_path / "apimart.yaml"
    shutil.copy(ROOT / "specs" / "apimart.yaml", path)
    source = specfile.load(path)
    made = scaffold.scaffold_page(APIMART_PAGE, source)
    source.save()
    doc = yaml.safe_load(path.read_text())  # as PyYAML (YAML 1.1) reads it: '16:9' quoted
    props = doc["components"]["schemas"][made.schema]["properties"]
    assert props["size"]["enum"] == ["16:9", "4:3"]
    assert (props["duration"]["minimum"], props["duration"]["maximum"]) == (2, 8)
    mb = doc["info"]["x-vidgate-mb"]["bytes"]
    assert props["image_urls"]["x-vidgate-media"]["max_bytes"] == 5 * mb
    assert made.example == "the page's request example"
    assert lint_document(doc, "apimart") == []


def test_a_page_example_the_draft_refuses_gives_a_minimal_one(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from lint_specs import lint_document

    path = tmp_path / "imini.yaml"
    shutil.copy(ROOT / "specs" / "imini.yaml", path)
    source = specfile.load(path)
    page = PAGE.replace(MODEL, "acme/motion-control")  # its example key is taken in the spec
    page = page.replace(f'"duration": {EXAMPLE["duration"]}', '"duration": 99')  # over 12
    made = scaffold.scaffold_page(page, source)
    source.save()
    doc = yaml.safe_load(path.read_text())
    examples = _submit_examples(doc)
    assert examples["motion_control"]["value"]["model"] == "kling/kling-v3-motion-control"
    assert examples["motion_control_new"]["value"] == {
        "model": "acme/motion-control",
        "prompt": "a paper boat on a pond",  # prompt is required on the page
    }
    assert any(line.startswith("example: a minimal body") for line in made.by_hand)
    assert lint_document(doc, "imini") == []


def _submit_examples(doc: Any) -> Any:
    from vidgate import spec

    _, op = spec.submit_operation(doc)
    return op["requestBody"]["content"]["application/json"]["examples"]


def test_a_model_already_in_the_spec_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, spec_path = tmp_path / "page.txt", tmp_path / "imini.yaml"
    page.write_text(PAGE.replace(MODEL, "kling/kling-v3"), encoding="utf-8")
    shutil.copy(ROOT / "specs" / "imini.yaml", spec_path)
    before = spec_path.read_text()
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path)])
    assert done.value.code == 2
    assert "kling/kling-v3 is already in" in capsys.readouterr().err
    assert spec_path.read_text() == before


@pytest.mark.parametrize(
    ("page_text", "spec_text", "message"),
    [
        ('{"model": "acme/x-1"} and no fields', None, "not a request reference page"),
        (PAGE, "openapi: [", "is not YAML"),
        (PAGE.replace(f'"model": "{MODEL}"', '"x": 1'), None, "no model named on the page"),
    ],
    ids=["not a reference page", "unreadable spec", "no model"],
)
def test_what_cannot_be_scaffolded_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    page_text: str,
    spec_text: str | None,
    message: str,
) -> None:
    page, spec_path = tmp_path / "page.txt", tmp_path / "imini.yaml"
    page.write_text(page_text, encoding="utf-8")
    if spec_text is None:
        shutil.copy(ROOT / "specs" / "imini.yaml", spec_path)
    else:
        spec_path.write_text(spec_text, encoding="utf-8")
    before = spec_path.read_text()
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path)])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert spec_path.read_text() == before


def test_the_command_writes_the_spec_and_lists_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, spec_path = tmp_path / "page.txt", tmp_path / "imini.yaml"
    page.write_text(PAGE, encoding="utf-8")
    shutil.copy(ROOT / "specs" / "imini.yaml", spec_path)
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path)])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    line = specfile.load(spec_path).line(f"/components/schemas/{SCHEMA}")
    assert f"{MODEL}: {SCHEMA} written to {spec_path}:{line}" in printed
    assert "field duration: integer, minimum 2, maximum 12, default 5" in printed
    assert "BY HAND modes:" in printed
    assert "then: make generate" in printed
    shutil.copy(ROOT / "specs" / "imini.yaml", spec_path)
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path), "--json", "--name", "ZRequest"])
    found = json.loads(capsys.readouterr().out)
    assert (done.value.code, found["model"], found["schema"]) == (0, MODEL, "ZRequest")
    assert found["pointer"] == "/components/schemas/ZRequest"
    assert any(line.startswith("modes:") for line in found["by_hand"])


# ---------------------------------------------------------------------------- end to end
CLI = [sys.executable, "-c", "from vidgate.cli import main; main()"]
THROUGH_THE_MOCK = f"""
from vidgate import errors
from vidgate.cli import demo
from vidgate.mock import MockGateway
from vidgate_imini.models import {SCHEMA} as Transport
from vidgate_models.imini import {SCHEMA} as Model

assert Model.model_validate({EXAMPLE!r}).duration == {EXAMPLE["duration"]}
assert Transport.from_dict({EXAMPLE!r}).to_dict()["model"] == {MODEL!r}
assert {MODEL!r} in {{j.body["model"] for j in demo.jobs()}}
with MockGateway() as mock:
    client = mock.client("imini")
    task = client.generate_and_wait(model={MODEL!r}, prompt="p", duration=12)
    assert task.succeeded and task.model == {MODEL!r}, task
    try:
        client.generate(model={MODEL!r}, prompt="p", duration=13)
    except errors.RequestValidationError as exc:
        print(exc)
    else:
        raise AssertionError("duration 13 was accepted")
print("through the mock: ok")
"""


@pytest.mark.slow
@pytest.mark.proof  # minutes: a repo copy, codegen, lint, two pytest runs; `make test-slow`
def test_a_new_model_page_becomes_a_model_with_no_python_edit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_repo(repo, "before the model")
    docs = tmp_path / "seeds"  # the docs folder with the new page saved and listed
    shutil.copytree(seeds.docs_dir(), docs)
    page = docs / "zephyr.txt"
    page.write_text(PAGE, encoding="utf-8")
    with (docs / "README.md").open("a", encoding="utf-8") as listing:
        listing.write(f"| {page.name} | imini router | POST /v1/videos/generate | {MODEL} |\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(repo / p) for p in ("src", "generated", "tests")),
        "PYTHONDONTWRITEBYTECODE": "1",
        "VIDGATE_DOCS_DIR": str(docs),
    }
    log: list[str] = []

    def run(step: str, argv: list[str], stdin: str | None = None) -> str:
        start = time.monotonic()
        done = subprocess.run(
            argv, cwd=repo, env=env, capture_output=True, text=True, input=stdin, timeout=900
        )
        took = f"{time.monotonic() - start:.1f} s"
        log.append(f"$ {step} (exit {done.returncode}, {took})\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, f"step {step!r} failed:\n" + "\n".join(log[-1:])
        return done.stdout

    run("vidgate scaffold", [*CLI, "scaffold", str(page), "--spec", "specs/imini.yaml"])
    run("make generate", [sys.executable, "scripts/generate.py"])
    run("lint specs", [sys.executable, "scripts/lint_specs.py"])
    run("golden check", [sys.executable, "scripts/generate.py", "--check"])
    run("rules table", [sys.executable, "scripts/rules_table.py", "--check"])
    run("git add -A", ["git", "add", "-A"])  # new files count too
    stat = run("git diff --stat", ["git", "diff", "--cached", "--stat"])
    changed = run("git diff --name-only", ["git", "diff", "--cached", "--name-only"]).split()
    assert changed, stat
    ours = ("specs/", "generated/", "docs/rules.md")  # docs/rules.md: generated rules page
    outside = [n for n in changed if not n.startswith(ours)]
    assert outside == [], stat
    run("vidgate validate", [*CLI, "validate", "--gateway", "imini", "-"], json.dumps(EXAMPLE))
    assert "duration" in run("through the mock", [sys.executable, "-c", THROUGH_THE_MOCK])
    suite = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    suite += ["-p", "no:randomly"]
    rules = ["tests/test_rules.py", "tests/test_validation.py", "tests/test_client.py"]
    rules += ["-k", "zephyr or bases or rule"]
    run("the tests that read the model list", [*suite, *rules])
    docs_layer = [
        "tests/test_seed_examples.py",
        "tests/test_docs.py::test_seed_page_matches_the_spec",
        "tests/test_page_readings.py::test_every_quote_in_the_spec_is_on_a_page_of_its_gateway",
        "tests/test_demo_and_plugin.py::test_demo_runs_every_model_of_both_gateways",
    ]
    run("the docs layer and the demo, with the page in the docs folder", [*suite, *docs_layer])
    print(stat, *(entry.split("\n", 1)[0] for entry in log), sep="\n")  # -s: the figures


# ---------------------------------------------------------------------------- wording
def test_a_taken_schema_name_names_the_parameter_and_the_cli_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vidgate.cli._common import flag

    spec_path = tmp_path / "imini.yaml"
    shutil.copy(ROOT / "specs" / "imini.yaml", spec_path)
    taken = next(iter(specfile.load(spec_path).doc["components"]["schemas"]))
    with pytest.raises(scaffold.ScaffoldError) as exists:
        scaffold.scaffold_page(PAGE, specfile.load(spec_path), name=taken)
    said = f"components/schemas/{taken} exists already; pass another name="
    assert str(exists.value) == said
    with pytest.raises(scaffold.ScaffoldError) as none_free:
        scaffold.schema_name(MODEL, {SCHEMA, "AcmeZephyr10Request"})
    assert str(none_free.value) == f"no free schema name for {MODEL}; pass name="
    assert none_free.value.worded(flag) == f"no free schema name for {MODEL}; pass --name"
    with pytest.raises(specfile.SpecToolError) as unnamed:
        docs_diff.page_model("no example here", "page.txt")
    assert str(unnamed.value) == "page.txt: no model named on the page; pass model="
    for caught in (exists.value, none_free.value, unnamed.value):
        assert isinstance(caught, specfile.SpecToolError)
        assert isinstance(caught, ValueError)  # callers' except ValueError still holds
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    before = spec_path.read_bytes()
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path), "--name", taken])
    err = capsys.readouterr().err
    assert (done.value.code, err.strip()) == (2, said.replace("name=", "--name"))
    assert spec_path.read_bytes() == before
    page.write_text(PAGE.replace(f'"model": "{MODEL}"', '"x": 1'), encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        main(["scaffold", str(page), "--spec", str(spec_path)])
    err = " ".join(capsys.readouterr().err.split())
    assert (done.value.code, err) == (2, f"{page}: no model named on the page; pass --model")
