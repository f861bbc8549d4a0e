"""Tests of the dataset catalog."""
