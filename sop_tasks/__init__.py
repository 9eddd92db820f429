"""The Dinarpus Kendal social-media SOP as code: the logic behind the Airflow DAGs."""

__version__ = "0.1.0"
