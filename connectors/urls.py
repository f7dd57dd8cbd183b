"""Database URLs as people write them → URLs SQLAlchemy can use with the installed drivers."""

from __future__ import annotations


def sqlalchemy_url(url: str) -> str:
    """`postgresql://` means psycopg2 here (the driver dbt and dagster-postgres use too);
    SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    if url.startswith("mysql://") or url.startswith("mariadb://"):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    return url
