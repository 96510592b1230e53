"""The security gate: static analysis of everything the agent produced.

Python through ``bandit``, secrets in any file through ``detect-secrets``, HTML and JavaScript
through our own parsed rules (``webscan``). Passes with 0 issues at or above ``min_severity``.
The agent cannot switch a check off from inside the workspace: ``# nosec`` and ``pragma:
allowlist secret`` comments are ignored, a workspace ``.bandit`` file is never read, and the
tools run isolated (``python -I``) so files in the workspace cannot shadow their modules.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from agentic_executor.gates.base import SEVERITIES, Finding, GateContext, GateResult
from agentic_executor.gates.markup import parse_html
from agentic_executor.gates.webscan import scan_page, scan_script

SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs")
TOOL_TIMEOUT_S = 120.0
SECRETS_FIX = "remove the secret from the files; read it at run time from an environment variable or a secret store"


class SecurityGate:
    name = "security"

    def run(self, ctx: GateContext) -> GateResult:
        threshold = SEVERITIES.index(str(ctx.option("min_severity", "low")))
        python_files = ctx.site.with_suffix(".py")
        missing = [m for m in ("detect_secrets", *(["bandit"] if python_files else [])) if not _installed(m)]
        if missing:
            return GateResult.missing_tool(
                self.name, f"{' and '.join(missing)} not installed (pip install {' '.join(missing)})"
            )
        with tempfile.TemporaryDirectory(prefix="agx-security-") as tmp:
            tools = {"detect-secrets": _start(_secrets_command(), ctx.site.root)}
            if python_files:
                tools["bandit"] = _start(_bandit_command(Path(tmp), python_files), ctx.site.root)
            try:  # the tools run while our own rules read the pages
                findings = list(_web_findings(ctx))
                findings += _secrets_findings(_finish(tools["detect-secrets"], "detect-secrets"))
                if "bandit" in tools:
                    findings += _bandit_findings(_finish(tools["bandit"], "bandit"))
            finally:
                for process in tools.values():  # reaped and closed, even when an error cut the run short
                    if process.poll() is None:
                        process.kill()
                    if process.stdout is not None and not process.stdout.closed:
                        process.communicate()
        kept = [f for f in findings if SEVERITIES.index(f.severity) >= threshold]
        kept.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.location))
        result = GateResult(self.name, passed=not kept, findings=kept)
        if len(kept) < len(findings):
            result.notes.append(f"{len(findings) - len(kept)} issue(s) below {SEVERITIES[threshold]} severity ignored")
        return result


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _web_findings(ctx: GateContext) -> list[Finding]:
    findings: list[Finding] = []
    for page in ctx.site.pages:
        text = ctx.site.read_text(page)
        if text is not None:
            findings.extend(scan_page(parse_html(text), page))
    for script in ctx.site.with_suffix(*SCRIPT_SUFFIXES):
        text = ctx.site.read_text(script)
        if text is not None:
            findings.extend(scan_script(text, script))
    return findings


def _secrets_command() -> list[str]:
    return [
        sys.executable,
        "-I",
        "-m",
        "detect_secrets",
        "-c",
        "1",
        "scan",
        "--all-files",
        "--no-verify",  # no network; a found secret is a finding whether or not it is live
        "--disable-filter",
        "detect_secrets.filters.allowlist.is_line_allowlisted",
        "--exclude-files",
        r"(^|/)(\.git|node_modules)/",
        ".",
    ]


def _bandit_command(tmp: Path, files: list[str]) -> list[str]:
    ini = tmp / "bandit.ini"
    ini.write_text("[bandit]\n")  # ours, so a .bandit file in the workspace is never read
    return [
        sys.executable,
        "-I",
        "-m",
        "bandit",
        "--format",
        "json",
        "--quiet",
        "--ignore-nosec",
        "--exit-zero",
        "--ini",
        str(ini),
        "--",
        *(f"./{f}" for f in files),
    ]


def _start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str], tool: str) -> dict[str, object]:
    try:
        out, err = process.communicate(timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"{tool} took longer than {TOOL_TIMEOUT_S:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"{tool} exited {process.returncode}: {err.strip().splitlines()[-1:] or 'no output'}")
    parsed: dict[str, object] = json.loads(out)
    return parsed


def _secrets_findings(report: dict[str, object]) -> list[Finding]:
    findings = []
    results = report.get("results", {})
    assert isinstance(results, dict)
    for filename, secrets in results.items():
        for secret in secrets:
            kind = str(secret.get("type", "secret"))
            findings.append(
                Finding(
                    "secrets/" + kind.lower().replace(" ", "-"),
                    f"{filename.removeprefix('./')}:{secret.get('line_number')}",
                    f"{kind} in a file the agent wrote",
                    SECRETS_FIX,
                    "high",
                )
            )
    return findings


def _bandit_findings(report: dict[str, object]) -> list[Finding]:
    findings = []
    results, errors = report.get("results", []), report.get("errors", [])
    assert isinstance(results, list) and isinstance(errors, list)
    for issue in results:
        findings.append(
            Finding(
                f"bandit/{issue.get('test_id')}",
                f"{_relative(issue.get('filename', ''))}:{issue.get('line_number')}",
                f"{issue.get('issue_text')} ({issue.get('test_name')})",
                f"rewrite the code without it; see {issue.get('more_info')}",
                _severity(issue.get("issue_severity")),
            )
        )
    for error in errors:
        findings.append(
            Finding(
                "bandit/unparsable",
                _relative(error.get("filename", "")),
                f"bandit could not analyse the file: {error.get('reason')}",
                "make it valid Python",
                "medium",
            )
        )
    return findings


def _severity(value: object) -> str:
    lowered = str(value).lower()
    return lowered if lowered in SEVERITIES else "low"


def _relative(filename: str) -> str:
    while filename.startswith("./"):
        filename = filename[2:]
    return filename
