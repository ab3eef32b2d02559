"""
Code that requests a token with the client credentials grant, in eight
languages. The secret stays a placeholder: Gatehouse stores only its hash.
"""

import json

SECRET_PLACEHOLDER = "YOUR_CLIENT_SECRET"


def _double_quoted(value):
    # JSON string escapes (\" and \\) are valid in Python, JavaScript, C#, Java
    # and Go. Other characters stay as they are: a \uXXXX surrogate pair,
    # which JSON uses outside the Basic Multilingual Plane, is invalid in Go
    # and in Python.
    return json.dumps(value, ensure_ascii=False)


def _single_quoted(value):
    # Ruby and PHP single-quoted strings: only \\ and \' are escapes.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _shell_quoted(value):
    return "'" + value.replace("'", "'\\''") + "'"


def token_request_snippets(token_url, client_id, audience):
    """Return [(language, code)] that POST a client credentials request."""
    fields = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", SECRET_PLACEHOLDER),
        ("audience", audience),
    ]
    q, s, sh = _double_quoted, _single_quoted, _shell_quoted

    curl = "curl --request POST --url " + sh(token_url) + " \\\n"
    curl += "  --header 'Content-Type: application/x-www-form-urlencoded'"
    for name, value in fields:
        curl += f" \\\n  --data-urlencode {sh(f'{name}={value}')}"

    python = "import requests\n\nresponse = requests.post(\n"
    python += f"    {q(token_url)},\n    data={{\n"
    python += "".join(f"        {q(name)}: {q(value)},\n" for name, value in fields)
    python += "    },\n    timeout=10,\n)\nresponse.raise_for_status()\n"
    python += 'access_token = response.json()["access_token"]'

    javascript = f"const response = await fetch({q(token_url)}, {{\n"
    javascript += '  method: "POST",\n'
    javascript += (
        '  headers: { "Content-Type": "application/x-www-form-urlencoded" },\n'
    )
    javascript += "  body: new URLSearchParams({\n"
    javascript += "".join(f"    {name}: {q(value)},\n" for name, value in fields)
    javascript += "  }),\n});\nconst { access_token } = await response.json();"

    csharp = "using System.Text.Json;\n\nusing var client = new HttpClient();\n"
    csharp += "var form = new FormUrlEncodedContent(new Dictionary<string, string>\n{\n"
    csharp += "".join(f"    [{q(name)}] = {q(value)},\n" for name, value in fields)
    csharp += "});\n"
    csharp += f"var response = await client.PostAsync({q(token_url)}, form);\n"
    csharp += "response.EnsureSuccessStatusCode();\n"
    csharp += "using var body = JsonDocument.Parse(\n"
    csharp += "    await response.Content.ReadAsStringAsync());\n"
    csharp += (
        'var accessToken = body.RootElement.GetProperty("access_token").GetString();'
    )

    go = "package main\n\nimport (\n"
    go += '\t"encoding/json"\n\t"fmt"\n\t"net/http"\n\t"net/url"\n)\n\n'
    go += "func main() {\n\tform := url.Values{\n"
    go += "".join(f"\t\t{q(name)}: {{{q(value)}}},\n" for name, value in fields)
    go += "\t}\n"
    go += f"\tresponse, err := http.PostForm({q(token_url)}, form)\n"
    go += "\tif err != nil {\n\t\tpanic(err)\n\t}\n\tdefer response.Body.Close()\n"
    go += '\tvar token struct {\n\t\tAccessToken string `json:"access_token"`\n\t}\n'
    go += "\tif err := json.NewDecoder(response.Body).Decode(&token); err != nil {\n"
    go += "\t\tpanic(err)\n\t}\n\tfmt.Println(token.AccessToken)\n}"

    java = "import java.net.URI;\nimport java.net.URLEncoder;\n"
    java += "import java.net.http.HttpClient;\nimport java.net.http.HttpRequest;\n"
    java += "import java.net.http.HttpResponse;\n"
    java += "import java.nio.charset.StandardCharsets;\n\n"
    java += 'String form = String.join("&",\n'
    java += ",\n".join(
        f"    {q(name + '=')} + URLEncoder.encode({q(value)}, StandardCharsets.UTF_8)"
        for name, value in fields
    )
    java += ");\n"
    java += (
        f"HttpRequest request = HttpRequest.newBuilder(URI.create({q(token_url)}))\n"
    )
    java += '    .header("Content-Type", "application/x-www-form-urlencoded")\n'
    java += "    .POST(HttpRequest.BodyPublishers.ofString(form))\n    .build();\n"
    java += "HttpResponse<String> response = HttpClient.newHttpClient()\n"
    java += "    .send(request, HttpResponse.BodyHandlers.ofString());\n"
    java += "System.out.println(response.body()); // JSON with access_token"

    php = f"<?php\n$curl = curl_init({s(token_url)});\n"
    php += "curl_setopt_array($curl, [\n    CURLOPT_POST => true,\n"
    php += "    CURLOPT_RETURNTRANSFER => true,\n"
    php += "    CURLOPT_POSTFIELDS => http_build_query([\n"
    php += "".join(f"        {s(name)} => {s(value)},\n" for name, value in fields)
    php += "    ]),\n]);\n$response = json_decode(curl_exec($curl), true);\n"
    php += "curl_close($curl);\necho $response['access_token'];"

    ruby = 'require "json"\nrequire "net/http"\n\n'
    ruby += f"response = Net::HTTP.post_form(\n  URI({s(token_url)}),\n"
    ruby += ",\n".join(f"  {s(name)} => {s(value)}" for name, value in fields)
    ruby += '\n)\nputs JSON.parse(response.body)["access_token"]'

    return [
        ("cURL", curl),
        ("Python (requests)", python),
        ("JavaScript (fetch)", javascript),
        ("C# (HttpClient)", csharp),
        ("Go (net/http)", go),
        ("Java (HttpClient)", java),
        ("PHP", php),
        ("Ruby", ruby),
    ]


def api_call_snippet(url, access_token):
    """Return a cURL command that calls `url` with the token as a Bearer token."""
    return (
        f"curl --url {_shell_quoted(url)} \\\n"
        f"  --header {_shell_quoted('Authorization: Bearer ' + access_token)}"
    )
