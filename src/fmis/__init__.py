"""OpenFMIS: integrated fiscal budget management system."""

__version__ = "0.1.0"
