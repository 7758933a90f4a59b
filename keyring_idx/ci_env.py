"""How CI systems take variables for later steps, and hide their values. Pure.

- GitHub Actions: ``::add-mask::VALUE`` on stdout makes the runner replace VALUE with ``***``
  in every later log line (the command line itself is not shown); ``NAME<<DELIM`` blocks
  appended to the file ``$GITHUB_ENV`` become environment variables of the later steps.
- GitLab CI: a job's script lines share one shell, and GitLab cannot mask a value created
  during a job; the variables go to a private file of ``export`` lines that the job sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def github_escape(value: str) -> str:
    """Workflow-command data escaping (as @actions/core does): the runner undoes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_masks(secrets: Iterable[str]) -> str:
    """The ``::add-mask::`` lines for ``secrets`` (empty values need none)."""
    return "".join(f"::add-mask::{github_escape(s)}\n" for s in secrets if s)


def github_env_block(variables: Mapping[str, str], delimiter: str) -> str:
    """``$GITHUB_ENV`` text: heredoc blocks, safe for any value that does not contain
    ``delimiter`` (the caller draws a random one and checks)."""
    for name, value in variables.items():
        if delimiter in value or delimiter in name:
            raise ValueError("delimiter occurs in a value")
    return "".join(f"{n}<<{delimiter}\n{v}\n{delimiter}\n" for n, v in variables.items())


def shell_quote(value: str) -> str:
    """POSIX single quotes: nothing inside is expanded."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def shell_exports(variables: Mapping[str, str]) -> str:
    return "".join(f"export {n}={shell_quote(v)}\n" for n, v in variables.items())
