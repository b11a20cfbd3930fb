"""Every job of ``mambaseq`` answers ``--help`` with its own usage and exits 0."""
import pytest

from mambaseq.pipelines.cli import JOBS, main


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_job_has_help(job, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([job, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: mambaseq {job}") and len(out.splitlines()) > 3


def test_new_jobs_are_registered():
    assert {"synthetic", "scale"} <= set(JOBS)
