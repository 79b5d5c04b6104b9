"""cadence.therapy"""
