"""cadence.evaluation"""
