"""policies/internet.py: one notion of "open to the internet" for the pack and the config check."""

from __future__ import annotations

import pytest

from policies.internet import WORLD_SHARE, internet_share, opens_to_internet


@pytest.mark.parametrize(
    "cidrs",
    [
        ["0.0.0.0/0"],
        ["0.0.0.0/1", "128.0.0.0/1"],  # the whole internet as two halves
        ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3"],  # as pieces, leaving only multicast out
        ["0.0.0.0/1"],  # half of it is still the internet
        ["::/0"],
        ["2000::/4"],
        ["10.0.0.0/8", "0.0.0.0/3"],  # one wide public piece among private ones
    ],
)
def test_unions_that_admit_the_internet(cidrs):
    assert opens_to_internet(cidrs)


@pytest.mark.parametrize(
    "cidrs",
    [
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"],  # private and shared space only
        ["3.0.0.0/8"],  # the largest single allocation is far from the internet
        ["198.51.100.0/24", "203.0.113.0/24"],
        ["2600:1f18::/32"],
        [],
        ["not-a-cidr"],
    ],
)
def test_unions_that_do_not(cidrs):
    assert not opens_to_internet(cidrs)


def test_share_counts_public_addresses_of_the_union_once():
    """Overlapping ranges count once, and private space counts for nothing."""
    assert internet_share(["0.0.0.0/0", "0.0.0.0/1"]) == 1.0
    assert internet_share(["8.0.0.0/8", "8.8.0.0/16"]) == internet_share(["8.0.0.0/8"])
    assert internet_share(["10.0.0.0/8"]) == 0.0
    assert 0 < internet_share(["8.0.0.0/5"]) < 1 and WORLD_SHARE == 1 / 16
