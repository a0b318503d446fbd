"""The sync protocol alone (trainer.remote.protocol): what a line of a job's log may say, and
that nothing it says raises, escapes the run folder or grows a file past its cap; the registry
rebuilt from run folders; the package structure (no import circles); and no message pointing
users at a head open to the network. No Ray head, no model."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

import pytest

from tests.trainer.helpers import REPO
from trainer.registry import Registry
from trainer.remote import protocol
from trainer.remote.outcome import save_record
from trainer.remote.protocol import MARK, apply_log, encode, end_line, env_line
from trainer.remote.spec import ClusterSpec
from trainer.runfolder import RunFolder


def _log(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "line, why",
    [
        (MARK + '["x"]', "not an object"),
        (MARK + '{"f": 7}', "unknown kind"),
        (MARK + '{"o": "w", "f": 7, "b": ""}', "must be str"),
        (MARK + '{"o": "w", "f": "metrics.json", "b": "!!"}', "not base64"),
        (MARK + '{"o": "end", "rc": "0"}', "must be int"),
        (MARK + '{"o": "env", "ok": true, "device": "tpu-pod"}', "unknown device"),
        (MARK + '{"o": "w", "f": "status.json", "b": "", "x": 1}', "unknown field"),
        (next(encode("../registry.sqlite", b"x")), "not a file the job may send"),
        (next(encode("/etc/passwd", b"x")), "not a file the job may send"),
        (next(encode("config.json", b"{}")), "not a file the job may send"),
        (next(encode("adapter/trainer_meta.json", b"{}")), "not a file the job may send"),
        (next(encode("adapter/../config.json", b"{}")), "not a file the job may send"),
        (next(encode("adapter/model.bin", b"x")), "not a file the job may send"),
        (next(encode("checkpoints/step-1/evil.py", b"x")), "not a file the job may send"),
        (next(encode("metrics.jsonl", b"x")), "cannot be written with 'w'"),
        (next(encode("metrics.json", b"[]")), "not a JSON object"),
        (next(encode("status.json", b'{"state": "lost"}')), "a status with state"),
        (next(encode("metrics.jsonl", b"1\n", op="a")), "not a JSON object"),
        (MARK + "x" * (protocol.MAX_LINE + 1), "characters"),
    ],
)
def test_each_kind_of_bad_line_is_refused_and_counted(tmp_path, line, why):
    run = tmp_path / "run"
    state = apply_log(run, "job", _log("hello", line, "bye"))
    assert state["refused"] == 1 and why in state["refused_first"], state
    files = sorted(p.name for p in run.rglob("*") if p.is_file())
    assert files == [".sync.json", ".sync.lock", "stdout.log"]
    out = (run / "stdout.log").read_text().splitlines()
    assert out[0] == "hello" and out[-1] == "bye" and "refused a line" in out[1]


def test_sizes_are_capped(tmp_path, monkeypatch):
    run = tmp_path / "run"
    big = json.dumps({"state": "running", "x": "y" * 70_000}).encode()
    state = apply_log(run, "job", _log(*encode("status.json", big)))
    assert state["refused"] == 1 and "cap 65536" in state["refused_first"]
    monkeypatch.setattr(protocol, "MAX_STDOUT", state["stdout_bytes"] + 100)
    state = apply_log(run, "job", _log(*encode("status.json", big), *(["x" * 30] * 10)))
    kept = (run / "stdout.log").read_text()
    assert kept.count("x" * 30) == 3 and "stdout.log reached" in kept and state["stdout_full"]
    assert state["refused"] == 1  # the same line is not counted twice


def test_a_chunk_out_of_order_or_a_cut_group_writes_nothing(tmp_path):
    run = tmp_path / "run"
    parts = list(encode("adapter/w.safetensors", b"z" * (protocol.CHUNK * 2 + 1)))
    state = apply_log(run, "job", _log(parts[0], parts[2], parts[1]))
    assert not (run / "adapter" / "w.safetensors").exists() and state["refused"] == 2
    apply_log(run, "job-2", _log(parts[0], "other output", parts[1], parts[2]))
    assert not (run / "adapter" / "w.safetensors").exists()


def test_a_symlink_in_the_run_folder_is_not_written_through(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    outside.mkdir()
    run.mkdir()
    (run / "adapter").symlink_to(outside)
    state = apply_log(run, "job", _log(*encode("adapter/x.safetensors", b"w")))
    assert state["refused"] == 1 and "symbolic link" in state["refused_first"]
    assert list(outside.iterdir()) == []


def test_the_remote_status_keeps_what_only_this_side_knows(tmp_path):
    run = RunFolder(tmp_path / "run-a")
    run.create()
    run.write_status("queued", "", cluster="http://h:8265", job_id="j-1", cost_usd=1.0)
    remote = {"state": "running", "run_id": "someone-else", "cluster": "x", "cost_usd": 0, "pid": 7}
    apply_log(
        run.path,
        "j-1",
        _log(env_line({"ok": True}), *encode("status.json", json.dumps(remote).encode())),
    )
    st = json.loads(run.status_path.read_text())
    assert st["state"] == "running" and st["run_id"] == "run-a"
    assert (st["cluster"], st["job_id"], st["cost_usd"]) == ("http://h:8265", "j-1", 1.0)
    assert st["remote_pid"] == 7 and "pid" not in st


def test_predictions_are_csv_with_formulas_escaped(tmp_path):
    run = tmp_path / "run"
    rows = b'id,gold,pred\r\nr1,a,"=HYPERLINK(""http://x"")"\r\nr2,b,-1\r\n'
    state = apply_log(run, "job", _log(*encode("predictions.csv", rows)))
    assert state.get("refused") is None
    assert (run / "predictions.csv").read_text().splitlines()[1:] == [
        'r1,a,"\'=HYPERLINK(""http://x"")"',
        "r2,b,-1",
    ]
    state = apply_log(run, "job-2", _log(*encode("predictions.csv", b"a,b\n1,2\n")))
    assert state["refused"] == 1 and "id,gold,pred" in state["refused_first"]


def test_good_lines_land_whole(tmp_path):
    run = tmp_path / "run"
    lines = [env_line({"ok": True, "device": "cuda", "gpu_name": "NVIDIA L4", "gpu_count": 1})]
    lines += [*encode("metrics.jsonl", b'{"step": 1}\n{"step": 2}\n', op="a"), end_line(0, 12.5)]
    state = apply_log(run, "job", _log(*lines))
    assert state["env"]["gpu_name"] == "NVIDIA L4" and state["wall_s"] == 12.5
    assert state["ended"] and state.get("refused") is None
    assert (run / "metrics.jsonl").read_text() == '{"step": 1}\n{"step": 2}\n'


def test_a_damaged_registry_is_rebuilt_from_the_run_folders(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    remote = RunFolder(runs / "remote-1")
    remote.create()
    remote.write_status("running", "", step=3)
    spec = ClusterSpec(address="http://127.0.0.1:9")
    save_record(remote, {"cluster": spec.to_dict(), "job_id": "trainer-remote-1-1"}, {})
    local = RunFolder(runs / "local-1")
    local.create()
    local.config_path.write_text("{}")
    local.write_status("completed", "", managed=True, device="cpu")
    foreground = RunFolder(runs / "fg-1")
    foreground.create()
    foreground.write_status("completed", "")
    with sqlite3.connect(runs / "registry.sqlite") as db:  # a foreign table of that name
        db.execute("CREATE TABLE runs (x)")
    reg = Registry(runs, "python")
    assert len(reg.notes) == 1 and "rebuilt from 2 run folder(s)" in reg.notes[0]
    assert capsys.readouterr().err.count("\n") == 1
    rows = {r[0]: r for r in sqlite3.connect(reg.path).execute("SELECT * FROM runs")}
    assert set(rows) == {"remote-1", "local-1"}
    assert rows["remote-1"][1] == "running" and rows["remote-1"][2] == spec.device
    assert json.loads(rows["remote-1"][3])["job_id"] == "trainer-remote-1-1"
    assert Registry(runs, "python").notes == []  # the rebuilt file is sound


def test_trainer_has_no_import_circles():
    """trainer/ (the remote subpackage included) imports as a tree: jobs <-> remote runs and
    report <-> run used to import each other."""
    mods = {}
    for p in (REPO / "trainer").rglob("*.py"):
        name = ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trainer"):
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
                graph[m] |= {n for n in names if n in mods and n != m}
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(m) :] + [m]))
        if m in done:
            return
        for n in graph[m]:
            visit(n, path + [m])
        done.add(m)

    for m in graph:
        visit(m, [])
    assert not list((REPO / "trainer").glob("launch*.py"))  # one subpackage: trainer/remote


def test_no_message_or_readme_line_opens_a_head_to_the_network():
    texts = [p.read_text() for p in (REPO / "trainer").rglob("*.py")]
    readme = (REPO / "README.md").read_text()
    ray_section = readme[readme.index("## Training on a Ray cluster") :]
    ray_section = ray_section[: ray_section.index("\n## ", 3)]
    for text in [*texts, ray_section]:
        assert "0.0.0.0" not in text and "dashboard-host 0" not in text
    assert "-L 8265:127.0.0.1:8265" in ray_section and "kubectl port-forward" in ray_section


def test_the_head_command_asks_for_loopback_everywhere():
    from trainer.remote.head import ENV_PORTS, PORT_NAMES, head_command, head_env

    cmd = head_command("ray", dict.fromkeys(PORT_NAMES, 1), (2, 3), num_cpus=1,
                       temp_dir=Path("/tmp/r"), object_store_mb=80)  # fmt: skip
    assert "--node-ip-address" in cmd and cmd[cmd.index("--node-ip-address") + 1] == "127.0.0.1"
    assert "--dashboard-host=127.0.0.1" in cmd
    env = head_env([5, 6])
    assert env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert [env[k] for k in ENV_PORTS] == ["5", "6"]


def test_a_model_folder_travels_as_safe_files_only(tmp_path):
    from trainer.remote.spec import ClusterError
    from trainer.remote.stage import _copy_model

    src = tmp_path / "model"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(b"w")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref")
    _copy_model(src, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").rglob("*")) == [
        "config.json",
        "model.safetensors",
    ]
    (src / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ClusterError, match="pytorch_model.bin .* not a safetensors"):
        _copy_model(src, tmp_path / "b")
    (src / "pytorch_model.bin").unlink()
    (src / "tokenizer.json").symlink_to("/etc/hostname")
    with pytest.raises(ClusterError, match="is a link"):
        _copy_model(src, tmp_path / "c")


def test_a_dashboard_that_drips_its_reply_is_given_up(monkeypatch):
    """One byte every 0.2 s keeps each read inside the socket timeout; the average rate does
    not: the call ends soon after the grace period, with one line."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from trainer.remote import dashboard
    from trainer.remote.spec import ClusterError

    class Drip(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(500):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client gave up

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(dashboard, "SLOW_GRACE_S", 1.0)
    try:
        api = dashboard.Dashboard(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=2)
        t0 = time.monotonic()
        with pytest.raises(ClusterError, match="answering too slowly"):
            api.get_json("/api/version", deadline_s=60)
        assert time.monotonic() - t0 < 5
    finally:
        server.shutdown()
        server.server_close()
