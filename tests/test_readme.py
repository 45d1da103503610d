import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_snippets_in_the_readme_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    exec(compile("\n".join(blocks), str(README), "exec"), {})


def test_readme_marks_the_test_command_that_ci_runs():
    lines = README.read_text().splitlines()
    marker = lines.index("<!-- test-command -->")
    assert lines[marker + 1] == "```bash"
    assert "python -m pytest" in lines[marker + 2]
