"""Every server-rendered page (session auth, CSRF-protected): thin views over the gateway's
workflows and the catalog, providers and accounts services. Routes in urls.py (the sign-in and
API key pages are mounted under /accounts/); templates in templates/ (account/, auth/,
partials/ and one file per top-level page)."""
