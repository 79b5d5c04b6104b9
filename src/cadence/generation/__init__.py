"""cadence.generation"""
