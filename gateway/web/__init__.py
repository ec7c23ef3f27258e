"""Every server-rendered page (session auth, CSRF-protected): thin views over the gateway's
workflows and the catalog, providers and accounts services. Routes in urls.py (every account page,
sign-in and API keys included, is under /account/); templates in templates/ (account/, auth/,
partials/ and one file per top-level page)."""
