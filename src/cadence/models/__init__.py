"""cadence.models"""
