"""Signing in: the login page, lockout after repeated failures, and each person's starting page."""

from __future__ import annotations

import time_machine
from django.test import Client

from civicgrid.accounts.models import User


def test_it_serves_the_login_page_with_a_strict_content_security_policy(db: None) -> None:
    response = Client().get("/login/")

    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_it_locks_a_user_out_after_five_failed_logins(centre: User) -> None:
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "zhou", "password": "wrong"})

    locked = client.post("/login/", {"username": "zhou", "password": "pw-for-tests-1"})

    assert locked.status_code == 429
    assert "已被暂时锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_signs_in_with_the_right_password(centre: User) -> None:
    client = Client()

    response = client.post("/login/", {"username": "zhou", "password": "pw-for-tests-1"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(centre.pk)


def test_it_signs_out_only_by_post(centre: User) -> None:
    client = Client()
    client.force_login(centre)

    assert client.get("/logout/").status_code == 405
    client.post("/logout/")

    assert "_auth_user_id" not in client.session


def test_it_ends_a_staff_session_after_thirty_idle_minutes(centre: User) -> None:
    client = Client()
    with time_machine.travel("2026-11-02 09:00 +0800", tick=False):
        client.post("/login/", {"username": "zhou", "password": "pw-for-tests-1"})
    with time_machine.travel("2026-11-02 09:25 +0800", tick=False):
        assert client.get("/console/").status_code == 200  # active: the expiry moves forward

    with time_machine.travel("2026-11-02 09:54 +0800", tick=False):
        still_in = client.get("/console/")
    with time_machine.travel("2026-11-02 10:25 +0800", tick=False):
        idle_too_long = client.get("/console/")

    assert still_in.status_code == 200
    assert idle_too_long.status_code == 302 and "/login/" in idle_too_long.url  # type: ignore[attr-defined]
