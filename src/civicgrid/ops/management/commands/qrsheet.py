"""`civicgrid qrsheet UNITCODE OUT.pdf [--base-url URL]`: the QR sign sheet of a grid or a community."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from civicgrid.ops import qrsigns
from civicgrid.org.models import Unit


class Command(BaseCommand):
    help = "Write a printable A4 PDF with one QR sign per building under the unit (four A6 signs a page)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("unit", help="code of a grid, community, street or district")
        parser.add_argument("out", help="the PDF file to write")
        parser.add_argument(
            "--base-url",
            help="the public address residents reach, e.g. https://grid.example.cn "
            "(default: the first of CSRF_TRUSTED_ORIGINS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = self._base_url(options["base_url"])
        unit = Unit.objects.filter(code=options["unit"], kind__in=Unit.AREA_KINDS).first()
        if unit is None:
            raise CommandError(_("没有编码为“%(code)s”的区域单位") % {"code": options["unit"]})
        signs = qrsigns.signs_for(unit, lambda path: base + path)
        if not signs:
            raise CommandError(_("“%(name)s”下没有楼栋") % {"name": unit.name})
        pdf = qrsigns.sign_sheet_pdf(signs, title=_("%(name)s 楼栋二维码") % {"name": unit.name})
        try:
            Path(options["out"]).write_bytes(pdf)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("已写入 %(path)s：%(n)d 张二维码牌") % {"path": options["out"], "n": len(signs)})

    def _base_url(self, given: str | None) -> str:
        """Printed signs must carry the public address; a guessed localhost would be useless on a wall."""
        base = given or next(iter(settings.CSRF_TRUSTED_ORIGINS), "")
        if not base.startswith(("http://", "https://")):
            raise CommandError(_("请用 --base-url 指明居民访问的网址，例如 https://grid.example.cn"))
        return base.rstrip("/")
