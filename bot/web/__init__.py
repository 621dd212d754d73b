"""The dashboard (工作看板): a server-rendered web app for the station's staff, served with the webhooks.

bot/web/app.py holds the Board (sessions, scope, CSRF, rendering); signin.py, pages.py, lists.py and
actions.py its routes; auth.py the password hashing and tokens; texts.py the page texts' loader.
"""
