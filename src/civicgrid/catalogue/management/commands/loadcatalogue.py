"""`civicgrid loadcatalogue [--file PATH]`: create or update the catalogue's domains and items."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicgrid.catalogue.services import CatalogueDataError, catalogue_data, catalogue_load, catalogue_read


class Command(BaseCommand):
    help = (
        "Load the 事项清单 (domains and items) from a JSON file, by default the shipped one. "
        "Safe to rerun: rows are matched by code. Department units are not created here."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--file", type=Path, default=None, help="catalogue JSON file to load")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path | None = options["file"]
        try:
            data = catalogue_data() if path is None else catalogue_read(path=path)
            result = catalogue_load(data=data)
        except CatalogueDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"领域：新建 {result.domains_created}，更新 {result.domains_updated}；"
            f"事项：新建 {result.items_created}，更新 {result.items_updated}"
        )
