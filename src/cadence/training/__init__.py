"""cadence.training"""
