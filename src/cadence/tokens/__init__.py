"""cadence.tokens"""
