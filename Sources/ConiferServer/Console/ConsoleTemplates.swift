/// The console's stylesheet and its Mustache templates. Every `{{value}}` is HTML-escaped (no template uses the
/// unescaped triple-stache or `{{&…}}`: `ConsolePageTests` checks); every form that changes something carries
/// the session's CSRF token (the `csrf` partial) and posts to the console's own origin.
///
/// Every page gets `title`, `organization`, `user`, `csrf` and the navigation flags from
/// `ConsoleController.layout`; the `top` partial draws the header and navigation, `bottom` closes the page. A section
/// (`{{#key}}`) opens for any string, the empty one too: a value that may be absent is left out of the page's values.
/// But a `{{key}}` missing inside a section is looked up in the values around it (`role` in an export would print the
/// user's role): a section's printed values are always set.
enum ConsoleTemplates {
    static let stylesheet = """
        :root { --ink: #1b2733; --muted: #4a5a6a; --line: #c9d3dc; --accent: #0b5d3b; --paper: #ffffff; --wash: #f3f6f8; --danger: #8a1c1c; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: var(--wash); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1.5rem; background: var(--accent); color: #fff; }
        header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
        header a { color: #fff; }
        nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
        nav a[aria-current=page] { font-weight: 700; }
        main { max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; }
        section { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
        h2 { font-size: 1.2rem; margin-top: 0; }
        h3 { font-size: 1rem; margin-bottom: 0; }
        table { width: 100%; border-collapse: collapse; }
        th, td { text-align: left; vertical-align: top; padding: .4rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
        td.id { overflow-wrap: anywhere; }
        label { display: block; font-weight: 600; margin-top: .75rem; }
        label.check { font-weight: 400; display: flex; gap: .4rem; align-items: center; margin-top: .4rem; }
        fieldset { border: 1px solid var(--line); border-radius: 4px; margin-top: .75rem; }
        legend { font-weight: 600; }
        input[type=email], input[type=password], input[type=text], input[type=number], input[type=url], select, textarea { display: block; width: 100%; max-width: 28rem; padding: .45rem; border: 1px solid var(--muted); border-radius: 4px; font: inherit; background: #fff; color: var(--ink); }
        button { margin-top: 1rem; padding: .45rem 1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
        button.danger { background: var(--danger); }
        form.inline { display: inline-flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: 0 .5rem .25rem 0; }
        form.inline button, form.inline select, form.inline input { display: inline-block; margin: 0; width: auto; }
        header button { margin: 0; background: #fff; color: var(--accent); }
        :focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
        .error { color: var(--danger); font-weight: 600; }
        .muted { color: var(--muted); }
        img.chart { max-width: 100%; height: auto; border: 1px solid var(--line); }
        .secret { font-family: ui-monospace, monospace; padding: .6rem; background: var(--wash); border: 1px dashed var(--muted); overflow-wrap: anywhere; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        @media (max-width: 40rem) { header { padding: .75rem; } main { padding: 0 .5rem; } th, td { padding: .3rem .25rem; } }
        """

    static let all: [String: String] = [
        "head": """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · Conifer</title><link rel="stylesheet" href="/console/style.css"></head>
            <body>
            """,
        "csrf": #"<input type="hidden" name="csrf_token" value="{{csrf}}">"#,
        "top": """
            {{> head}}
            <header><h1>{{organization.name}}</h1>
            <nav aria-label="Console"><ul>
            <li><a href="/console"{{#navOverview}} aria-current="page"{{/navOverview}}>Overview</a></li>
            {{#canMembers}}<li><a href="/console/members"{{#navMembers}} aria-current="page"{{/navMembers}}>Members</a></li>{{/canMembers}}
            {{#canServiceAccounts}}<li><a href="/console/service-accounts"{{#navServiceAccounts}} aria-current="page"{{/navServiceAccounts}}>Service accounts</a></li>{{/canServiceAccounts}}
            {{#canAudit}}<li><a href="/console/audit-log"{{#navAudit}} aria-current="page"{{/navAudit}}>Audit log</a></li>{{/canAudit}}
            {{#canSSO}}<li><a href="/console/single-sign-on"{{#navSSO}} aria-current="page"{{/navSSO}}>Single sign-on</a></li>{{/canSSO}}
            {{#canBilling}}<li><a href="/console/billing"{{#navBilling}} aria-current="page"{{/navBilling}}>Billing</a></li>{{/canBilling}}
            </ul></nav>
            <span>{{user}}</span>
            <form method="post" action="/console/sign-out">{{> csrf}}<button type="submit">Sign out</button></form>
            </header>
            <main>
            """,
        "bottom": "</main></body></html>\n",
        "sign-in": """
            {{> head}}
            <header><h1>Conifer</h1></header>
            <main><section>
            <h2>Sign in</h2>
            {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
            {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
            <form method="post" action="/console/sign-in">
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            <h3>Single sign-on</h3>
            <form method="get" action="/console/sso">
            <label for="sso-email">Work email</label><input id="sso-email" name="email" type="email" autocomplete="username" required value="{{ssoEmail}}">
            <button type="submit">Continue with single sign-on</button>
            </form>
            </section></main></body></html>
            """,
        "to-identity-provider": """
            {{> head}}
            <meta http-equiv="refresh" content="0;url={{url}}">
            <header><h1>Conifer</h1></header>
            <main><section>
            <h2>Single sign-on</h2>
            <p role="status">Taking you to your identity provider. <a id="identity-provider" href="{{url}}">Continue</a>.</p>
            </section></main></body></html>
            """,
        "signed-in": """
            {{> head}}
            <meta http-equiv="refresh" content="0;url={{next}}">
            <header><h1>Conifer</h1></header>
            <main><section>
            <h2>Signed in</h2>
            {{#cli}}<p role="status">You are signed in. <a href="{{next}}">Hand the sign-in to the conifer command</a>.</p>{{/cli}}
            {{^cli}}<p role="status">You are signed in. <a href="{{next}}">Continue to the console</a>.</p>{{/cli}}
            </section></main></body></html>
            """,
        "accept-invite": """
            {{> head}}
            <header><h1>Conifer</h1></header>
            <main><section>
            <h2>Accept your invitation</h2>
            <form method="post" action="/console/accept-invite">
            <input type="hidden" name="token" value="{{token}}">
            <label for="name">Your name</label><input id="name" name="name" type="text" autocomplete="name" maxlength="200">
            <label for="password">Choose a password (at least 12 characters)</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
            <button type="submit">Join the organization</button>
            </form>
            </section></main></body></html>
            """,
        "overview": """
            {{> top}}
            <section aria-labelledby="organization"><h2 id="organization">Organization</h2>
            <table><tbody>
            <tr><th scope="row">Name</th><td>{{organization.name}}</td></tr>
            <tr><th scope="row">Plan</th><td>{{organization.plan}}</td></tr>
            <tr><th scope="row">Payment status</th><td>{{organization.paymentStatus}}</td></tr>
            <tr><th scope="row">Your role</th><td>{{role}}</td></tr>
            </tbody></table>
            {{#canRename}}<form method="post" action="/console/organization">{{> csrf}}
            <label for="organization-name">Rename the organization</label><input id="organization-name" name="name" type="text" required maxlength="512" value="{{organization.name}}">
            <button type="submit">Rename</button>
            </form>{{/canRename}}</section>
            <section aria-labelledby="projects"><h2 id="projects">Projects</h2>
            {{#hasProjects}}<table><thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Created</th></tr></thead><tbody>
            {{#projects}}<tr><td><a href="/console/projects/{{id}}">{{name}}</a></td><td class="id">{{id}}</td><td>{{created}}</td></tr>{{/projects}}
            </tbody></table>{{/hasProjects}}
            {{^hasProjects}}<p class="muted">No projects you can see.</p>{{/hasProjects}}
            {{#canCreateProject}}<h3>Create a project</h3>
            <form method="post" action="/console/projects">{{> csrf}}
            <label for="project-name">Name</label><input id="project-name" name="name" type="text" required maxlength="512">
            <label class="check"><input type="checkbox" name="force_encryption_with_cmek" value="true"> Encrypt with a customer-managed key (CMEK)</label>
            <button type="submit">Create project</button>
            </form>{{/canCreateProject}}
            </section>
            {{#canDelete}}<section aria-labelledby="delete-organization"><h2 id="delete-organization">Delete this organization</h2>
            <p>Deletes its projects, indexes, backups and audit log; every member is signed out.</p>
            <form method="post" action="/console/organization/delete">{{> csrf}}
            <label for="confirm-organization">Type the organization's name to confirm</label><input id="confirm-organization" name="confirm" type="text" required autocomplete="off">
            <button type="submit" class="danger">Delete organization</button>
            </form></section>{{/canDelete}}
            {{> bottom}}
            """,
        "members": """
            {{> top}}
            <section aria-labelledby="members"><h2 id="members">Members</h2>
            <table><thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th>{{#canWrite}}<th scope="col">Change</th>{{/canWrite}}</tr></thead><tbody>
            {{#users}}<tr><td class="id">{{email}}</td><td>{{name}}</td><td>{{role}}</td>{{#canWrite}}<td>
            {{^isSelf}}<form method="post" action="/console/users/{{id}}/role" class="inline">{{> csrf}}
            <label for="role-{{id}}" class="visually-hidden">Role of {{email}}</label>
            <select id="role-{{id}}" name="role">{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/roles}}</select>
            <button type="submit">Change role</button></form>
            <form method="post" action="/console/users/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove<span class="visually-hidden"> {{email}}</span></button></form>{{/isSelf}}
            {{#isSelf}}<span class="muted">You</span>{{/isSelf}}
            </td>{{/canWrite}}</tr>{{/users}}
            </tbody></table></section>
            <section aria-labelledby="invites"><h2 id="invites">Invitations</h2>
            {{#hasInvites}}<table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Expires</th>{{#canWrite}}<th scope="col">Revoke</th>{{/canWrite}}</tr></thead><tbody>
            {{#invites}}<tr><td class="id">{{email}}</td><td>{{role}}</td><td>{{status}}</td><td>{{expires}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/invites/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Revoke</button></form></td>{{/canWrite}}</tr>{{/invites}}
            </tbody></table>{{/hasInvites}}
            {{^hasInvites}}<p class="muted">No invitations.</p>{{/hasInvites}}
            {{#canWrite}}<h3>Invite a member</h3>
            <form method="post" action="/console/invites">{{> csrf}}
            <label for="invite-email">Email</label><input id="invite-email" name="email" type="email" required>
            <label for="invite-role">Organization role</label>
            <select id="invite-role" name="role">{{#inviteRoles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/inviteRoles}}</select>
            <button type="submit">Send invitation</button>
            </form>{{/canWrite}}
            </section>
            {{> bottom}}
            """,
        "service-accounts": """
            {{> top}}
            <section aria-labelledby="accounts"><h2 id="accounts">Service accounts</h2>
            {{#hasAccounts}}<table><thead><tr><th scope="col">Name</th><th scope="col">Client ID</th><th scope="col">Role</th><th scope="col">Created</th>{{#canWrite}}<th scope="col">Manage</th>{{/canWrite}}</tr></thead><tbody>
            {{#accounts}}<tr><td>{{name}}</td><td class="id">{{clientID}}</td><td>{{role}}</td><td>{{created}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/service-accounts/{{id}}" class="inline">{{> csrf}}<label for="rename-{{id}}" class="visually-hidden">New name of {{name}}</label><input id="rename-{{id}}" name="name" type="text" required maxlength="512" value="{{name}}"><button type="submit">Rename<span class="visually-hidden"> {{name}}</span></button></form>
            <form method="post" action="/console/service-accounts/{{id}}/rotate-secret" class="inline">{{> csrf}}<button type="submit">Rotate secret<span class="visually-hidden"> of {{name}}</span></button></form>
            <form method="post" action="/console/service-accounts/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Delete<span class="visually-hidden"> {{name}}</span></button></form>
            </td>{{/canWrite}}</tr>{{/accounts}}
            </tbody></table>{{/hasAccounts}}
            {{^hasAccounts}}<p class="muted">No service accounts.</p>{{/hasAccounts}}
            {{#canWrite}}<h3>Create a service account</h3>
            <form method="post" action="/console/service-accounts">{{> csrf}}
            <label for="account-name">Name</label><input id="account-name" name="name" type="text" required maxlength="512">
            <label for="account-role">Organization role</label>
            <select id="account-role" name="role">{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/roles}}</select>
            <button type="submit">Create service account</button>
            </form>{{/canWrite}}
            </section>
            {{> bottom}}
            """,
        "secret": """
            {{> top}}
            <section aria-labelledby="secret"><h2 id="secret">{{heading}}</h2>
            <p role="alert"><strong>Copy it now: this is the only time Conifer shows it.</strong> Only a hash is stored; if it is lost, {{lost}}.</p>
            {{#fields}}<h3>{{label}}</h3><p class="secret" id="{{id}}">{{value}}</p>{{/fields}}
            <p><a href="{{back}}">Done</a></p>
            </section>
            {{> bottom}}
            """,
        "project": """
            {{> top}}
            <section aria-labelledby="project"><h2 id="project">Project {{project.name}}</h2>
            <p><a href="/console/projects/{{project.id}}/indexes">Indexes</a></p>
            <table><tbody>
            <tr><th scope="row">ID</th><td class="id">{{project.id}}</td></tr>
            <tr><th scope="row">Encryption</th><td>{{#project.cmek}}Customer-managed key (CMEK){{/project.cmek}}{{^project.cmek}}Conifer-managed key{{/project.cmek}}</td></tr>
            <tr><th scope="row">Private endpoints only</th><td>{{#project.privateOnly}}On{{/project.privateOnly}}{{^project.privateOnly}}Off{{/project.privateOnly}}</td></tr>
            <tr><th scope="row">Pod limit</th><td>{{project.maxPods}}</td></tr>
            <tr><th scope="row">Created</th><td>{{project.created}}</td></tr>
            </tbody></table>
            {{#canWrite}}<h3>Settings</h3>
            <form method="post" action="/console/projects/{{project.id}}">{{> csrf}}
            <label for="settings-name">Name</label><input id="settings-name" name="name" type="text" required maxlength="512" value="{{project.name}}">
            <label for="settings-pods">Pod limit</label><input id="settings-pods" name="max_pods" type="number" min="0" value="{{project.maxPods}}">
            <label class="check"><input type="checkbox" name="force_encryption_with_cmek" value="true"{{#project.cmek}} checked{{/project.cmek}}> Encrypt with a customer-managed key (CMEK)</label>
            <label class="check"><input type="checkbox" name="private_endpoint_access_only" value="true"{{#project.privateOnly}} checked{{/project.privateOnly}}> Accept data-plane calls only through private endpoints</label>
            <button type="submit">Save settings</button>
            </form>{{/canWrite}}
            </section>
            {{#canReadKeys}}<section aria-labelledby="api-keys"><h2 id="api-keys">API keys</h2>
            {{#hasKeys}}<table><thead><tr><th scope="col">Name</th><th scope="col">Roles</th><th scope="col">Key</th><th scope="col">Created</th>{{#canWriteKeys}}<th scope="col">Delete</th>{{/canWriteKeys}}</tr></thead><tbody>
            {{#keys}}<tr><td><a href="/console/api-keys/{{id}}">{{name}}</a></td><td>{{roles}}</td><td><span class="muted">pcsk_•••••••• (shown once, at creation)</span></td><td>{{created}}</td>{{#canWriteKeys}}<td>
            <form method="post" action="/console/api-keys/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Delete<span class="visually-hidden"> {{name}}</span></button></form></td>{{/canWriteKeys}}</tr>{{/keys}}
            </tbody></table>{{/hasKeys}}
            {{^hasKeys}}<p class="muted">No API keys.</p>{{/hasKeys}}
            {{#canWriteKeys}}<h3>Create an API key</h3>
            <form method="post" action="/console/projects/{{project.id}}/api-keys">{{> csrf}}
            <label for="key-name">Name</label><input id="key-name" name="name" type="text" required maxlength="512">
            <fieldset><legend>Roles</legend>
            {{#keyRoles}}<label class="check"><input type="checkbox" name="role_{{value}}" value="true"{{#selected}} checked{{/selected}}> {{value}}</label>{{/keyRoles}}
            </fieldset>
            <button type="submit">Create API key</button>
            </form>{{/canWriteKeys}}
            </section>{{/canReadKeys}}
            {{#canReadMembers}}<section aria-labelledby="project-members"><h2 id="project-members">Members</h2>
            {{#hasMembers}}<table><thead><tr><th scope="col">Member</th><th scope="col">Kind</th><th scope="col">Project role</th>{{#canWriteMembers}}<th scope="col">Remove</th>{{/canWriteMembers}}</tr></thead><tbody>
            {{#members}}<tr><td class="id">{{principal}}</td><td>{{type}}</td><td>{{role}}</td>{{#canWriteMembers}}<td>
            <form method="post" action="/console/role-bindings/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove<span class="visually-hidden"> {{principal}}</span></button></form></td>{{/canWriteMembers}}</tr>{{/members}}
            </tbody></table>{{/hasMembers}}
            {{^hasMembers}}<p class="muted">No one has a role in this project (organization owners and managers act in every project).</p>{{/hasMembers}}
            {{#canWriteMembers}}<h3>Add a member or connect a service account</h3>
            <form method="post" action="/console/projects/{{project.id}}/members">{{> csrf}}
            <label for="member-principal">Member or service account</label>
            <select id="member-principal" name="principal">{{#principals}}<option value="{{value}}">{{label}}</option>{{/principals}}</select>
            <label for="member-role">Project role</label>
            <select id="member-role" name="role">{{#projectRoles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/projectRoles}}</select>
            <button type="submit">Add to project</button>
            </form>{{/canWriteMembers}}
            </section>{{/canReadMembers}}
            <section aria-labelledby="cmek"><h2 id="cmek">Customer-managed key</h2>
            {{#hasCMEK}}<table><thead><tr><th scope="col">Name</th><th scope="col">Key ARN</th><th scope="col">Role ARN</th>{{#canWrite}}<th scope="col">Remove</th>{{/canWrite}}</tr></thead><tbody>
            {{#cmekKeys}}<tr><td>{{name}}</td><td class="id">{{keyARN}}</td><td class="id">{{roleARN}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/projects/{{project.id}}/cmek-keys/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove<span class="visually-hidden"> {{name}}</span></button></form></td>{{/canWrite}}</tr>{{/cmekKeys}}
            </tbody></table>{{/hasCMEK}}
            {{^hasCMEK}}<p class="muted">No customer-managed key.</p>
            {{#canWrite}}<form method="post" action="/console/projects/{{project.id}}/cmek-keys">{{> csrf}}
            <label for="cmek-name">Name</label><input id="cmek-name" name="name" type="text" required maxlength="512">
            <label for="cmek-key">KMS key ARN</label><input id="cmek-key" name="key_arn" type="text" required>
            <label for="cmek-role">IAM role ARN</label><input id="cmek-role" name="role_arn" type="text">
            <label for="cmek-external">External ID</label><input id="cmek-external" name="external_id" type="text">
            <button type="submit">Add key</button>
            </form>{{/canWrite}}{{/hasCMEK}}
            </section>
            <section aria-labelledby="endpoints"><h2 id="endpoints">Private endpoints</h2>
            {{#hasEndpoints}}<table><thead><tr><th scope="col">Name</th><th scope="col">Region</th><th scope="col">VPC endpoint</th><th scope="col">Allowed networks</th>{{#canWrite}}<th scope="col">Remove</th>{{/canWrite}}</tr></thead><tbody>
            {{#endpoints}}<tr><td>{{name}}</td><td>{{region}}</td><td>{{vpcEndpointID}}</td><td>{{cidrs}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/projects/{{project.id}}/private-endpoints/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove<span class="visually-hidden"> {{name}}</span></button></form></td>{{/canWrite}}</tr>{{/endpoints}}
            </tbody></table>{{/hasEndpoints}}
            {{^hasEndpoints}}<p class="muted">No private endpoints.</p>{{/hasEndpoints}}
            {{#canWrite}}<h3>Add a private endpoint</h3>
            <form method="post" action="/console/projects/{{project.id}}/private-endpoints">{{> csrf}}
            <label for="endpoint-name">Name</label><input id="endpoint-name" name="name" type="text" required maxlength="512">
            <label for="endpoint-region">Region</label><input id="endpoint-region" name="region" type="text" required value="us-east-1">
            <p class="muted">Give either the VPC endpoint's ID (connections through a proxy that names it) or the networks it connects from.</p>
            <label for="endpoint-vpc">VPC endpoint ID</label><input id="endpoint-vpc" name="vpc_endpoint_id" type="text">
            <label for="endpoint-cidrs">or allowed networks (CIDR blocks, comma-separated)</label><input id="endpoint-cidrs" name="allowed_cidrs" type="text">
            <button type="submit">Add endpoint</button>
            </form>{{/canWrite}}
            </section>
            {{#canDelete}}<section aria-labelledby="delete"><h2 id="delete">Delete this project</h2>
            <p>Deleting a project deletes its indexes, backups and API keys.</p>
            <form method="post" action="/console/projects/{{project.id}}/delete">{{> csrf}}
            <label for="confirm">Type the project's name to confirm</label><input id="confirm" name="confirm" type="text" required autocomplete="off">
            <button type="submit" class="danger">Delete project</button>
            </form></section>{{/canDelete}}
            {{> bottom}}
            """,
        "indexes": """
            {{> top}}
            <p><a href="/console/projects/{{project.id}}">Project {{project.name}}</a></p>
            <section aria-labelledby="indexes"><h2 id="indexes">Indexes</h2>
            {{#hasIndexes}}<table><thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Type</th><th scope="col">Dimension</th><th scope="col">Metric</th><th scope="col">Deployment</th><th scope="col">Protected</th></tr></thead><tbody>
            {{#indexes}}<tr><td><a href="{{path}}">{{name}}</a></td><td>{{status}}</td><td>{{vectorType}}</td><td>{{dimension}}</td><td>{{metric}}</td><td>{{deployment}}</td><td>{{#protected}}Yes{{/protected}}{{^protected}}No{{/protected}}</td></tr>{{/indexes}}
            </tbody></table>{{/hasIndexes}}
            {{^hasIndexes}}<p class="muted">No indexes.</p>{{/hasIndexes}}
            {{#canWrite}}<h3>Create an index</h3>
            <form method="post" action="/console/projects/{{project.id}}/indexes">{{> csrf}}
            <label for="index-name">Name (lowercase letters, digits and hyphens)</label><input id="index-name" name="name" type="text" required maxlength="45">
            <fieldset><legend>Vector type</legend>
            <label class="check"><input type="radio" name="vector_type" value="dense" checked> Dense</label>
            <label class="check"><input type="radio" name="vector_type" value="sparse"> Sparse</label>
            </fieldset>
            <label for="index-dimension">Dimension (dense)</label><input id="index-dimension" name="dimension" type="number" min="1" max="20000" value="1536">
            <label for="index-metric">Metric</label>
            <select id="index-metric" name="metric">{{#metrics}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/metrics}}</select>
            <label class="check"><input type="checkbox" name="hybrid" value="true"> Also keep sparse values (hybrid search; metric dotproduct)</label>
            <label for="index-encoding">Vector encoding (int8: a quarter of the memory, scores rescored exactly)</label>
            <select id="index-encoding" name="vector_encoding">{{#encodings}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/encodings}}</select>
            <fieldset><legend>Deployment</legend>
            <label class="check"><input type="radio" name="deployment_type" value="managed" checked> Serverless</label>
            <label class="check"><input type="radio" name="deployment_type" value="pod"> Pods</label>
            <label class="check"><input type="radio" name="deployment_type" value="byoc"> Bring your own cloud</label>
            <label for="index-cloud">Cloud (serverless)</label><input id="index-cloud" name="cloud" type="text" value="aws">
            <label for="index-region">Region (serverless)</label><input id="index-region" name="region" type="text" value="us-east-1">
            <label for="index-environment">Environment (pods and BYOC)</label><input id="index-environment" name="environment" type="text" placeholder="us-east-1-aws">
            <label for="index-pod-type">Pod type (pods)</label><input id="index-pod-type" name="pod_type" type="text" placeholder="p1.x1">
            <label for="index-pod-replicas">Replicas (pods)</label><input id="index-pod-replicas" name="pod_replicas" type="number" min="1" placeholder="1">
            <label for="index-pod-shards">Shards (pods)</label><input id="index-pod-shards" name="pod_shards" type="number" min="1" placeholder="1">
            <label for="index-pods">Pods (pods; replicas × shards when empty)</label><input id="index-pods" name="pods" type="number" min="1">
            </fieldset>
            <fieldset><legend>Read capacity (serverless and BYOC)</legend>
            <label for="index-read-capacity">Mode</label><select id="index-read-capacity" name="read_capacity">{{#capacityModes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/capacityModes}}</select>
            <label for="index-node-type">Node type (dedicated)</label><select id="index-node-type" name="node_type">{{#nodeTypes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/nodeTypes}}</select>
            <label for="index-read-replicas">Replicas (dedicated)</label><input id="index-read-replicas" name="read_replicas" type="number" min="1" placeholder="1">
            <label for="index-read-shards">Shards (dedicated)</label><input id="index-read-shards" name="read_shards" type="number" min="1" placeholder="1">
            </fieldset>
            {{#cmekKey}}<p id="index-cmek">Encrypted with the project's customer-managed key {{name}}.</p><input type="hidden" name="cmek_id" value="{{id}}">{{/cmekKey}}
            <label for="index-tags">Tags (key=value, one per line)</label><textarea id="index-tags" name="tags" rows="3"></textarea>
            <label class="check"><input type="checkbox" name="deletion_protection" value="true"> Deletion protection</label>
            <button type="submit">Create index</button>
            </form>{{/canWrite}}
            </section>
            {{> bottom}}
            """,
        "index": """
            {{> top}}
            <p><a href="/console/projects/{{project.id}}/indexes">Indexes of {{project.name}}</a></p>
            <section aria-labelledby="index"><h2 id="index">Index {{index.name}}</h2>
            <p><a href="{{index.path}}/metrics">Metrics</a></p>
            <table><tbody>
            <tr><th scope="row">Status</th><td>{{index.status}}</td></tr>
            <tr><th scope="row">Vector type</th><td>{{index.vectorType}}</td></tr>
            <tr><th scope="row">Dimension</th><td>{{index.dimension}}</td></tr>
            <tr><th scope="row">Metric</th><td>{{index.metric}}</td></tr>
            <tr><th scope="row">Deployment</th><td>{{index.deployment}}</td></tr>
            <tr><th scope="row">Vector encoding</th><td>{{index.encoding}}</td></tr>
            <tr><th scope="row">Read capacity</th><td>{{index.readCapacity}}</td></tr>
            <tr><th scope="row">Encryption key</th><td class="id">{{index.cmek}}</td></tr>
            <tr><th scope="row">Deletion protection</th><td>{{#index.protected}}Enabled{{/index.protected}}{{^index.protected}}Disabled{{/index.protected}}</td></tr>
            <tr><th scope="row">Tags</th><td>{{index.tags}}</td></tr>
            <tr><th scope="row">Created</th><td>{{index.created}}</td></tr>
            </tbody></table>
            {{#dataUnavailable}}<p class="muted" id="data-unavailable">{{dataUnavailable}}</p>{{/dataUnavailable}}
            {{#statistics}}<h3>Records</h3>
            <table><thead><tr><th scope="col">Namespace</th><th scope="col">Records</th></tr></thead><tbody>
            {{#namespaces}}<tr><td>{{name}}</td><td>{{records}}</td></tr>{{/namespaces}}
            <tr><th scope="row">Total</th><td id="record-count">{{records}}</td></tr>
            </tbody></table>{{/statistics}}
            </section>
            {{#canQuery}}<section aria-labelledby="query"><h2 id="query">Query</h2>
            <form method="get" action="{{index.path}}/query">
            {{#isDense}}<label for="query-vector">Vector (numbers separated by commas)</label><textarea id="query-vector" name="vector" rows="2">{{form.vector}}</textarea>{{/isDense}}
            <label for="query-id">or the ID of a stored record</label><input id="query-id" name="id" type="text" value="{{form.id}}">
            <label for="query-top-k">Top K</label><input id="query-top-k" name="top_k" type="number" min="1" max="10000" value="{{form.topK}}">
            <label for="query-namespace">Namespace</label><input id="query-namespace" name="namespace" type="text" value="{{form.namespace}}">
            <label for="query-filter">Metadata filter (JSON)</label><input id="query-filter" name="filter" type="text" value="{{form.filter}}">
            <button type="submit">Run query</button>
            </form>
            {{#answer}}<h3>Matches</h3>
            <p role="status" id="read-units">Read units used: {{readUnits}}</p>
            {{#hasMatches}}<table id="matches"><thead><tr><th scope="col">ID</th><th scope="col">Score</th><th scope="col">Metadata</th></tr></thead><tbody>
            {{#matches}}<tr><td class="id">{{id}}</td><td>{{score}}</td><td class="id">{{metadata}}</td></tr>{{/matches}}
            </tbody></table>{{/hasMatches}}
            {{^hasMatches}}<p class="muted">No matches.</p>{{/hasMatches}}{{/answer}}
            </section>{{/canQuery}}
            <section aria-labelledby="backup"><h2 id="backup">Backups</h2>
            <p><a href="/console/projects/{{project.id}}/backups">Backups and restore jobs of the project</a></p>
            {{#canWrite}}<form method="post" action="{{index.path}}/backups">{{> csrf}}
            <label for="backup-name">Backup name</label><input id="backup-name" name="name" type="text" maxlength="512">
            <label for="backup-description">Description</label><input id="backup-description" name="description" type="text" maxlength="1024">
            <button type="submit">Back up now</button>
            </form>{{/canWrite}}</section>
            <section aria-labelledby="schedules"><h2 id="schedules">Backup schedules</h2>
            {{#schedulesUnavailable}}<p class="muted">{{schedulesUnavailable}}</p>{{/schedulesUnavailable}}
            {{#hasSchedules}}<table id="schedule-list"><thead><tr><th scope="col">Name</th><th scope="col">Every</th><th scope="col">Kept for</th><th scope="col">State</th><th scope="col">Next backup</th>{{#canWrite}}<th scope="col">Change</th>{{/canWrite}}</tr></thead><tbody>
            {{#schedules}}<tr><td>{{name}}</td><td>{{frequency}}</td><td>{{days}} days</td><td>{{#enabled}}Running{{/enabled}}{{^enabled}}Paused{{/enabled}}</td><td>{{next}}</td>{{#canWrite}}<td>
            <form method="post" action="{{path}}" class="inline">{{> csrf}}{{#enabled}}<input type="hidden" name="enabled" value="false"><button type="submit">Pause<span class="visually-hidden"> {{name}}</span></button>{{/enabled}}{{^enabled}}<input type="hidden" name="enabled" value="true"><button type="submit">Resume<span class="visually-hidden"> {{name}}</span></button>{{/enabled}}</form>
            <form method="post" action="{{path}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Delete<span class="visually-hidden"> {{name}}</span></button></form>
            </td>{{/canWrite}}</tr>{{/schedules}}
            </tbody></table>{{/hasSchedules}}
            {{^hasSchedules}}{{^schedulesUnavailable}}<p class="muted">No schedules: this index is backed up only when asked.</p>{{/schedulesUnavailable}}{{/hasSchedules}}
            {{#canWrite}}{{^schedulesUnavailable}}<form method="post" action="{{index.path}}/backup-schedules">{{> csrf}}
            <label for="schedule-name">Schedule name</label><input id="schedule-name" name="name" type="text" required maxlength="45">
            <label for="schedule-frequency">Back up every</label><select id="schedule-frequency" name="frequency">{{#frequencies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/frequencies}}</select>
            <label for="schedule-days">Keep each backup for (days)</label><input id="schedule-days" name="retention_days" type="number" min="1" max="3650" required value="7">
            <button type="submit">Add schedule</button>
            </form>{{/schedulesUnavailable}}{{/canWrite}}</section>
            {{#canWrite}}<section aria-labelledby="configure"><h2 id="configure">Configure</h2>
            <form method="post" action="{{index.path}}">{{> csrf}}
            <label class="check"><input type="checkbox" name="deletion_protection" value="true"{{#index.protected}} checked{{/index.protected}}> Deletion protection</label>
            <label for="configure-tags">Tags (key=value, one per line)</label><textarea id="configure-tags" name="tags" rows="3">{{#tagLines}}{{.}}
            {{/tagLines}}</textarea>
            {{#index.isPod}}<label for="configure-pod-type">Pod type</label><input id="configure-pod-type" name="pod_type" type="text" value="{{index.podType}}">
            <label for="configure-pod-replicas">Replicas</label><input id="configure-pod-replicas" name="pod_replicas" type="number" min="1" value="{{index.podReplicas}}">{{/index.isPod}}
            {{^index.isPod}}<fieldset><legend>Read capacity</legend>
            <label class="check"><input type="radio" name="read_capacity" value="OnDemand"{{^index.dedicated}} checked{{/index.dedicated}}> On demand</label>
            <label class="check"><input type="radio" name="read_capacity" value="Dedicated"{{#index.dedicated}} checked{{/index.dedicated}}> Dedicated</label>
            <label for="configure-node-type">Node type (dedicated)</label><input id="configure-node-type" name="node_type" type="text" value="{{index.nodeType}}">
            <label for="configure-read-replicas">Replicas (dedicated)</label><input id="configure-read-replicas" name="read_replicas" type="number" min="1" value="{{index.readReplicas}}">
            <label for="configure-read-shards">Shards (dedicated)</label><input id="configure-read-shards" name="read_shards" type="number" min="1" value="{{index.readShards}}">
            </fieldset>{{/index.isPod}}
            <button type="submit">Save</button>
            </form></section>
            <section aria-labelledby="delete-index"><h2 id="delete-index">Delete this index</h2>
            <form method="post" action="{{index.path}}/delete">{{> csrf}}
            <label for="confirm-index">Type the index's name to confirm</label><input id="confirm-index" name="confirm" type="text" required autocomplete="off">
            <button type="submit" class="danger">Delete index</button>
            </form></section>{{/canWrite}}
            {{> bottom}}
            """,
        "api-key": """
            {{> top}}
            <p><a href="/console/projects/{{project.id}}">Project {{project.name}}</a></p>
            <section aria-labelledby="api-key"><h2 id="api-key">API key {{key.name}}</h2>
            <p>Created {{key.created}}. Its secret was shown once, when it was created; delete the key and create another if it is lost.</p>
            {{#canWrite}}<form method="post" action="/console/api-keys/{{key.id}}">{{> csrf}}
            <label for="key-name">Name</label><input id="key-name" name="name" type="text" required maxlength="512" value="{{key.name}}">
            <fieldset><legend>Roles</legend>
            {{#keyRoles}}<label class="check"><input type="checkbox" name="role_{{value}}" value="true"{{#selected}} checked{{/selected}}> {{value}}</label>{{/keyRoles}}
            </fieldset>
            <button type="submit">Save</button>
            </form>{{/canWrite}}
            {{^canWrite}}<p class="muted">Your role may not change API keys.</p>{{/canWrite}}
            </section>
            {{> bottom}}
            """,
        "metrics": """
            {{> top}}
            <p><a href="{{index.path}}">Index {{index.name}}</a></p>
            <section aria-labelledby="metrics"><h2 id="metrics">Metrics of {{index.name}}</h2>
            <nav aria-label="Time window"><ul>{{#windows}}<li><a href="{{index.path}}/metrics?window={{query}}"{{#current}} aria-current="page"{{/current}}>{{name}}</a></li>{{/windows}}</ul></nav>
            <p id="metrics-summary">{{summary.records}} records now. Over {{window}}: {{summary.requests}} requests; latency p50 ≤ {{summary.p50}} ms, p99 ≤ {{summary.p99}} ms; {{summary.readUnits}} read units, {{summary.writeUnits}} write units.</p>
            {{#charts}}<p><img class="chart" src="{{src}}" alt="Chart of {{name}} over {{window}}; the totals are in the text above." width="720" height="240"></p>{{/charts}}
            <p class="muted">Counted since this server started; the same series are served to Prometheus.</p>
            </section>
            {{> bottom}}
            """,
        "backups": """
            {{> top}}
            <p><a href="/console/projects/{{project.id}}/indexes">Indexes of {{project.name}}</a></p>
            <section aria-labelledby="jobs"><h2 id="jobs">Restore jobs</h2>
            {{#hasJobs}}<table><thead><tr><th scope="col">New index</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Started</th></tr></thead><tbody>
            {{#jobs}}<tr><td>{{#done}}<a href="{{path}}">{{index}}</a>{{/done}}{{^done}}{{index}}{{/done}}</td><td class="job-status">{{status}}{{#error}}: {{error}}{{/error}}</td>
            <td><progress max="100" value="{{percent}}" aria-label="Restore of {{index}}">{{percent}}%</progress> {{percent}}%</td><td>{{created}}</td></tr>{{/jobs}}
            </tbody></table>{{/hasJobs}}
            {{^hasJobs}}<p class="muted">No restore jobs.</p>{{/hasJobs}}
            </section>
            <section aria-labelledby="backups"><h2 id="backups">Backups</h2>
            {{#hasBackups}}<table><thead><tr><th scope="col">Name</th><th scope="col">Index</th><th scope="col">Records</th><th scope="col">Namespaces</th><th scope="col">Bytes</th><th scope="col">Created</th>{{#canWrite}}<th scope="col">Restore or delete</th>{{/canWrite}}</tr></thead><tbody>
            {{#backups}}<tr><td>{{name}}{{#scheduled}} <span class="muted">(scheduled)</span>{{/scheduled}}</td><td>{{index}}</td><td>{{records}}</td><td>{{namespaces}}</td><td>{{size}}</td><td>{{created}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/projects/{{project.id}}/backups/{{id}}/restore" class="inline">{{> csrf}}
            <label for="restore-{{id}}" class="visually-hidden">Name of the index restored from {{name}}</label>
            <input id="restore-{{id}}" name="name" type="text" required maxlength="45" placeholder="new index name">
            <button type="submit">Restore<span class="visually-hidden"> {{name}}</span></button></form>
            <form method="post" action="/console/projects/{{project.id}}/backups/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Delete<span class="visually-hidden"> {{name}}</span></button></form>
            </td>{{/canWrite}}</tr>{{/backups}}
            </tbody></table>{{/hasBackups}}
            {{^hasBackups}}<p class="muted">No backups. Back an index up from its page.</p>{{/hasBackups}}
            </section>
            {{> bottom}}
            """,
        "billing": """
            {{> top}}
            <section aria-labelledby="usage"><h2 id="usage">Usage</h2>
            <p>From {{usage.from}} to {{usage.to}}: <strong id="usage-total">{{usage.total}} USD</strong> at the plan's prices.</p>
            <table><thead><tr><th scope="col">SKU</th><th scope="col">Quantity</th><th scope="col">Unit</th><th scope="col">Cost (USD)</th></tr></thead><tbody>
            {{#usage.rows}}<tr><td>{{sku}}</td><td>{{quantity}}</td><td>{{unit}}</td><td>{{cost}}</td></tr>{{/usage.rows}}
            </tbody></table>
            </section>
            <section aria-labelledby="alerts"><h2 id="alerts">Spend alerts</h2>
            <table><thead><tr><th scope="col">Threshold</th><th scope="col">Recipients</th><th scope="col">State</th><th scope="col">Last fired</th>{{#canWrite}}<th scope="col">Change</th>{{/canWrite}}</tr></thead><tbody>
            {{#alerts}}<tr><td>{{threshold}}</td><td class="id">{{recipients}}</td><td>{{#enabled}}Enabled{{/enabled}}{{^enabled}}Disabled{{/enabled}}</td><td>{{fired}}</td>{{#canWrite}}<td>
            <form method="post" action="/console/spend-alerts/{{id}}" class="inline">{{> csrf}}{{#enabled}}<input type="hidden" name="enabled" value="false"><button type="submit">Disable<span class="visually-hidden"> the alert at {{threshold}}</span></button>{{/enabled}}{{^enabled}}<input type="hidden" name="enabled" value="true"><button type="submit">Enable<span class="visually-hidden"> the alert at {{threshold}}</span></button>{{/enabled}}</form>
            {{^isSpike}}<form method="post" action="/console/spend-alerts/{{id}}/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Delete<span class="visually-hidden"> the alert at {{threshold}}</span></button></form>{{/isSpike}}
            </td>{{/canWrite}}</tr>{{/alerts}}
            </tbody></table>
            {{#canWrite}}<h3>Add a spend alert</h3>
            <form method="post" action="/console/spend-alerts">{{> csrf}}
            <label for="alert-amount">When this month's cost reaches (USD)</label><input id="alert-amount" name="amount_usd" type="number" min="0.01" step="0.01" required>
            <label for="alert-recipients">Mail to (comma-separated; the organization's owners when empty)</label><input id="alert-recipients" name="recipients" type="text">
            <button type="submit">Add alert</button>
            </form>{{/canWrite}}
            </section>
            <section aria-labelledby="contact"><h2 id="contact">Billing contact</h2>
            {{#canWrite}}<form method="post" action="/console/billing">{{> csrf}}
            <label for="contact-name">Name</label><input id="contact-name" name="name" type="text" required value="{{contact.name}}">
            <label for="contact-email">Email</label><input id="contact-email" name="email" type="email" required value="{{contact.email}}">
            <label for="contact-line1">Address</label><input id="contact-line1" name="line1" type="text" required value="{{contact.line1}}">
            <label for="contact-line2">Address, second line</label><input id="contact-line2" name="line2" type="text" value="{{contact.line2}}">
            <label for="contact-city">City</label><input id="contact-city" name="city" type="text" required value="{{contact.city}}">
            <label for="contact-postal">Postal code</label><input id="contact-postal" name="postal_code" type="text" required value="{{contact.postalCode}}">
            <label for="contact-state">State or region</label><input id="contact-state" name="state" type="text" value="{{contact.state}}">
            <label for="contact-country">Country (two letters)</label><input id="contact-country" name="country" type="text" required maxlength="2" value="{{contact.country}}">
            <button type="submit">Save contact</button>
            </form>{{/canWrite}}
            {{^canWrite}}{{#contact}}<p>{{name}}, {{email}}<br>{{line1}} {{line2}}, {{postalCode}} {{city}} {{state}}, {{country}}</p>{{/contact}}{{/canWrite}}
            </section>
            {{> bottom}}
            """,
        "audit": """
            {{> top}}
            <section aria-labelledby="export"><h2 id="export">Export to S3</h2>
            {{^enterprise}}<p class="muted">Exporting the audit log to your S3 bucket needs the Enterprise plan.</p>{{/enterprise}}
            {{#enterprise}}{{#export}}<table id="export-status"><tbody>
            <tr><th scope="row">Bucket</th><td class="id">{{location}}</td></tr>
            <tr><th scope="row">Region</th><td>{{region}}</td></tr>
            <tr><th scope="row">IAM role</th><td class="id">{{roleARN}}</td></tr>
            <tr><th scope="row">State</th><td id="export-state">{{state}}</td></tr>
            <tr><th scope="row">Enabled</th><td>{{enabled}}</td></tr>
            <tr><th scope="row">Last delivery</th><td>{{lastSuccess}}</td></tr>
            <tr><th scope="row">Batches waiting</th><td>{{pending}}</td></tr>
            {{#lastError}}<tr><th scope="row">Last error</th><td class="error">{{lastError}}</td></tr>{{/lastError}}
            </tbody></table>
            {{#canWrite}}<form method="post" action="/console/audit-log/pause" class="inline">{{> csrf}}{{#paused}}<input type="hidden" name="paused" value="false"><button type="submit">Resume export</button>{{/paused}}{{^paused}}<input type="hidden" name="paused" value="true"><button type="submit">Pause export</button>{{/paused}}</form>
            <form method="post" action="/console/audit-log/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove export</button></form>{{/canWrite}}
            {{/export}}
            {{^export}}<p class="muted">The audit log is not exported.</p>
            {{#canWrite}}<form method="post" action="/console/audit-log">{{> csrf}}
            <label for="audit-bucket">Bucket (and prefix: bucket/prefix)</label><input id="audit-bucket" name="bucket" type="text" required>
            <label for="audit-region">Region</label><input id="audit-region" name="region" type="text" value="us-east-1">
            <label for="audit-role">IAM role ARN Conifer assumes to write</label><input id="audit-role" name="role_arn" type="text">
            <label for="audit-external">External ID</label><input id="audit-external" name="external_id" type="text">
            <label for="audit-endpoint">S3 endpoint URL (S3-compatible stores the operator allows)</label><input id="audit-endpoint" name="endpoint_url" type="text">
            <label for="audit-interval">Seconds between batches</label><input id="audit-interval" name="batch_interval_seconds" type="number" min="1" value="1800">
            <button type="submit">Export the audit log</button>
            </form>{{/canWrite}}{{/export}}{{/enterprise}}
            </section>
            <section aria-labelledby="events"><h2 id="events">Newest events</h2>
            <table id="audit-events"><thead><tr><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Result</th></tr></thead><tbody>
            {{#events}}<tr><td>{{time}}</td><td class="id">{{actor}}</td><td>{{action}} {{resourceType}}</td><td class="id">{{resource}}</td><td>{{result}}</td></tr>{{/events}}
            </tbody></table>
            </section>
            {{> bottom}}
            """,
        "sso": """
            {{> top}}
            <section aria-labelledby="copy"><h2 id="copy">For your identity provider</h2>
            <p>Create a SAML 2.0 application in your identity provider with these values; it must sign assertions (RSA-SHA256) and send the user's email as the NameID.</p>
            <table id="sp-values"><tbody>
            {{#sp}}<tr><th scope="row">SP entity ID (audience)</th><td class="id">{{entityID}}</td></tr>
            <tr><th scope="row">ACS URL (single sign-on URL)</th><td class="id">{{acsURL}}</td></tr>
            <tr><th scope="row">Metadata</th><td class="id"><a href="{{entityID}}">{{entityID}}</a></td></tr>{{/sp}}
            </tbody></table>
            </section>
            <section aria-labelledby="settings"><h2 id="settings">Identity provider</h2>
            {{^available}}<p class="muted">Single sign-on needs the Standard or Enterprise plan.</p>{{/available}}
            {{#available}}{{#settings}}<table id="sso-settings"><tbody>
            <tr><th scope="row">Entity ID</th><td class="id">{{idpEntityID}}</td></tr>
            <tr><th scope="row">SSO URL</th><td class="id">{{ssoURL}}</td></tr>
            <tr><th scope="row">Certificate (SHA-256)</th><td class="id" id="sso-fingerprint">{{fingerprint}}</td></tr>
            <tr><th scope="row">Certificate expires</th><td>{{notAfter}}</td></tr>
            <tr><th scope="row">Email domains</th><td>{{domains}}</td></tr>
            <tr><th scope="row">Enforced</th><td id="sso-enforced">{{enforced}}</td></tr>
            <tr><th scope="row">Role of new users</th><td>{{defaultRole}}{{#projectRoles}}; {{projectRoles}}{{/projectRoles}}</td></tr>
            </tbody></table>
            <form method="post" action="/console/single-sign-on/delete" class="inline">{{> csrf}}<button type="submit" class="danger">Remove single sign-on</button></form>
            {{/settings}}
            {{^settings}}<p class="muted">Members sign in with passwords.</p>{{/settings}}
            {{#form}}<form method="post" action="/console/single-sign-on">{{> csrf}}
            <label for="sso-idp">Identity provider entity ID (issuer)</label><input id="sso-idp" name="idp_entity_id" type="text" required value="{{idpEntityID}}">
            <label for="sso-url">Identity provider SSO URL</label><input id="sso-url" name="sso_url" type="url" required value="{{ssoURL}}">
            <label for="sso-certificate">Signing certificate (PEM)</label><textarea id="sso-certificate" name="certificate" rows="8" required>{{certificate}}</textarea>
            <label for="sso-domains">Email domains (comma-separated)</label><input id="sso-domains" name="domains" type="text" required value="{{domains}}">
            <label for="sso-role">Role of users who first sign in through SSO</label><select id="sso-role" name="default_role">{{#roles}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/roles}}</select>
            {{#projects}}<label for="sso-project-{{id}}">Their role in project {{name}}</label><select id="sso-project-{{id}}" name="project_role_{{id}}">{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/roles}}</select>
            {{/projects}}
            <label class="check"><input name="enforced" type="checkbox" value="true"{{#enforced}} checked{{/enforced}}> Enforce: refuse passwords for these domains</label>
            <p class="muted">If the identity provider is ever unreachable, the operator turns enforcement off on the server: <code>conifer org sso-enforcement off</code>.</p>
            <button type="submit">Save single sign-on</button>
            </form>{{/form}}{{/available}}
            </section>
            {{> bottom}}
            """,
        "error": """
            {{> head}}
            <header><h1>Conifer</h1></header>
            <main><section><h2>{{title}}</h2><p class="error" role="alert">{{message}}</p>
            {{#signIn}}<p><a href="/console/sign-in">Sign in</a></p>{{/signIn}}
            {{^signIn}}<p><a href="/console">Back to the console</a></p>{{/signIn}}
            </section></main></body></html>
            """,
    ]
}
