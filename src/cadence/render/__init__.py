"""cadence.render"""
