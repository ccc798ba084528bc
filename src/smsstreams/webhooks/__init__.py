"""Webhook delivery: signing, retry policy, destination guard (pure where possible)."""
