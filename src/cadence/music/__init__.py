"""cadence.music"""
