"""Import records: a spreadsheet upload (its file, phase, progress, outcome) and each case brought in."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    """A spreadsheet uploaded for import: checked first (dry run), then imported on confirmation."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待校验")  # stored; a worker will run the dry run
        CHECKING = "checking", _("校验中")  # the dry run is running
        CHECKED = "checked", _("校验完成")  # dry run done: problems listed, or ready to confirm
        IMPORT_QUEUED = "import_queued", _("等待导入")  # confirmed; a worker will write it
        IMPORTING = "importing", _("导入中")  # sheets are being written, one transaction each
        DONE = "done", _("已导入")  # every sheet committed; `report` holds the counts
        FAILED = "failed", _("失败")  # unreadable file or a write refused; `error` says why

    # A UUID, so one administrator cannot guess the address of another's upload.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    # Touched by every progress step: a worker that stopped long ago leaves its run to be re-claimed.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    filename = models.CharField(_("文件名"), max_length=200)
    stored = models.CharField(_("存储位置"), max_length=255)
    kind = models.CharField(_("表格类别"), max_length=16, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    done = models.PositiveIntegerField(_("已处理行数"), default=0)
    problems = models.JSONField(_("问题"), default=list, blank=True)
    report = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("表格导入")
        verbose_name_plural = _("表格导入")
        ordering = ["-created_at"]
        indexes = [
            # Serves the worker's "oldest run waiting in this status" claim.
            models.Index(fields=["status", "created_at"], name="importrun_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} · {self.get_status_display()}"

    @property
    def busy(self) -> bool:
        """True while a phase waits or runs: the status page keeps refreshing itself."""
        return self.status in {
            self.Status.QUEUED,
            self.Status.CHECKING,
            self.Status.IMPORT_QUEUED,
            self.Status.IMPORTING,
        }

    @property
    def ready(self) -> bool:
        """The dry run found nothing wrong: the administrator may confirm the import."""
        return self.status == self.Status.CHECKED and not self.problems


class ImportedCase(models.Model):
    """A case brought in from a previous system (`civicgrid import-cases`): found again by its
    (source, external id), so importing the same row twice writes it once."""

    source = models.CharField(_("来源"), max_length=50)
    external_id = models.CharField(_("原系统编号"), max_length=64)
    case = models.OneToOneField(
        "cases.Case", verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="+"
    )
    # sha256 of the row's mapped cells: a re-import tells an unchanged row from one edited since.
    fingerprint = models.CharField(max_length=64)
    imported_at = models.DateTimeField(_("导入时间"))

    class Meta:
        verbose_name = _("导入的诉求")
        verbose_name_plural = _("导入的诉求")
        constraints = [
            # Also the index of the re-import's lookup (external ids of one source).
            models.UniqueConstraint(fields=["source", "external_id"], name="importedcase_source_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
