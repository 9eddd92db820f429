"""Adapters from the domain (``sop_tasks``) to Airflow: hooks, operators, notifiers, plugin parts.

Only this sub-package imports Airflow.
"""
