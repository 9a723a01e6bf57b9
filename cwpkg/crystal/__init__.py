"""crystal"""
