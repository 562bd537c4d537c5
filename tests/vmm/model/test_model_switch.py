import pytest
import torch

from vmm.model import SwitchSchedule

SCHEDULE = [(0.0, {"chords": 3, "both": 1}), (0.5, {"video": 1, "chords": 1, "both": 1, "none": 1}),
            (1.0, {"video": 2, "both": 6, "none": 2})]


def test_probabilities_are_normalised_and_interpolated():
    schedule = SwitchSchedule(SCHEDULE)
    assert schedule.probabilities(0.0) == pytest.approx({"video": 0, "chords": 0.75, "both": 0.25, "none": 0})
    assert schedule.probabilities(0.25) == pytest.approx(
        {"video": 0.125, "chords": 0.5, "both": 0.25, "none": 0.125})
    assert schedule.probabilities(0.75) == pytest.approx(
        {"video": 0.225, "chords": 0.125, "both": 0.425, "none": 0.225})
    assert schedule.probabilities(1.0) == pytest.approx({"video": 0.2, "chords": 0, "both": 0.6, "none": 0.2})
    assert schedule.probabilities(7.0) == schedule.probabilities(1.0)  # clamped


def test_nearest_milestone_holds_outside_the_given_range():
    schedule = SwitchSchedule([(0.2, {"chords": 1}), (0.6, {"none": 1})])
    assert schedule.probabilities(0.0)["chords"] == 1.0
    assert schedule.probabilities(0.9)["none"] == 1.0


@pytest.mark.parametrize("progress", [0.0, 0.25, 1.0])
def test_sample_draws_the_configured_proportions(progress):
    schedule = SwitchSchedule(SCHEDULE)
    n = 40_000
    use_video, use_chords = schedule.sample(n, progress, generator=torch.Generator().manual_seed(0))
    assert use_video.dtype == torch.bool and use_video.shape == (n,)
    observed = {"video": (use_video & ~use_chords), "chords": (~use_video & use_chords),
                "both": (use_video & use_chords), "none": (~use_video & ~use_chords)}
    for choice, p in schedule.probabilities(progress).items():
        share = observed[choice].float().mean().item()
        # 5 standard deviations of a binomial share: fails by chance about once in 3 million runs.
        assert abs(share - p) <= 5 * (p * (1 - p) / n) ** 0.5 + 1e-9, (choice, share, p)


def test_sampling_is_reproducible_with_a_generator():
    schedule = SwitchSchedule(SCHEDULE)
    first = schedule.sample(64, 0.3, generator=torch.Generator().manual_seed(5))
    second = schedule.sample(64, 0.3, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    ("milestones", "message"),
    [
        ([], "at least one milestone"),
        ([(0.0, {"chord": 1})], "unknown"),
        ([(0.0, {"video": -1, "none": 2})], ">= 0"),
        ([(0.0, {"video": 0})], "not all 0"),
        ([(0.5, {"video": 1}), (0.5, {"none": 1})], "strictly increasing"),
        ([(1.5, {"video": 1})], r"\[0, 1\]"),
    ],
)
def test_bad_schedules_are_rejected(milestones, message):
    with pytest.raises(ValueError, match=message):
        SwitchSchedule(milestones)


def test_constant_schedule():
    schedule = SwitchSchedule.constant({"both": 1, "none": 1})
    assert schedule.probabilities(0.9) == {"video": 0.0, "chords": 0.0, "both": 0.5, "none": 0.5}
