"""Monitoring the deployed model: drift from its training reference, and its performance."""
