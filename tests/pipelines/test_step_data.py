"""StepLoader's state is the next step to train, counted from the batches it handed out, not
from what its worker processes prefetched."""
import pytest

from mambaseq.pipelines.data.step_loader import LengthSchedule, StepBatches, StepLoader


class Keys:
    """A dataset whose items are their keys."""

    def __getitem__(self, key: int) -> int:
        return key


def loader(num_workers: int) -> StepLoader:
    draw = lambda step, shape: [step * 100 + i for i in range(shape.batch)]
    return StepLoader(Keys(), StepBatches(draw, LengthSchedule(8, 2), 4), num_workers=num_workers)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_state_counts_handed_out_batches_and_resumes_there(num_workers):
    first = loader(num_workers)
    batches = iter(first)
    assert [next(batches).tolist() for _ in range(3)] == [[0, 1], [100, 101], [200, 201]]
    state = first.state_dict()
    assert state == {"step": 3}                            # workers have prefetched further
    again = loader(num_workers)
    again.load_state_dict(state)
    assert [b.tolist() for b in again] == [[300, 301]]     # the rest of the first epoch
    assert again.state_dict() == {"step": 4}
    assert [b.tolist()[0] for b in again] == [400, 500, 600, 700]   # then the next epoch
