"""Reusable components of the HyperPod platform, one per module."""
