"""The SOP's monthly figures and record tables: one query layer for the page, the PDF, the XLSX
and the CLI (so their numbers always agree). No Airflow imports here."""
