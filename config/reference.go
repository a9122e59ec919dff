package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// githubSettings are go-githubapp's names for the App's settings, which
// live in its own struct without our tags.
var githubSettings = []struct{ env, yaml, doc string }{
	{"GITHUB_V3_API_URL", "github.v3_api_url", "REST API base URL: https://api.github.com/ (GHES: https://HOST/api/v3/). Required by server and worker."},
	{"GITHUB_V4_API_URL", "github.v4_api_url", "GraphQL URL: https://api.github.com/graphql (GHES: https://HOST/api/graphql). Required by server and worker."},
	{"GITHUB_APP_INTEGRATION_ID", "github.app.integration_id", "The App ID from the App's settings page. Required by server and worker."},
	{"GITHUB_APP_PRIVATE_KEY", "github.app.private_key", "The App's RSA private key: the PEM itself or a path to the .pem file. Required by server and worker."},
	{"GITHUB_APP_WEBHOOK_SECRET", "github.app.webhook_secret", "The webhook secret; every delivery's X-Hub-Signature-256 is checked with it. Required by server."},
	{"GITHUB_WEB_URL", "github.web_url", "Web URL of GitHub (for links); https://github.com by default."},
}

// Reference renders the configuration reference as a Markdown table:
// every setting, its YAML key, its default and what it does.
func Reference() string {
	var b strings.Builder
	b.WriteString("| Environment variable | YAML key | Default | What it does |\n|---|---|---|---|\n")
	for _, g := range githubSettings {
		fmt.Fprintf(&b, "| `%s` | `%s` | — | %s |\n", g.env, g.yaml, g.doc)
	}
	walkReference(&b, reflect.ValueOf(Default()), "")
	return b.String()
}

func walkReference(b *strings.Builder, v reflect.Value, prefix string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			if f.Name != "GitHub" {
				walkReference(b, v.Field(i), prefix+key+".")
			}
			continue
		}
		env := f.Tag.Get("env")
		if env == "" && f.Tag.Get("doc") != "" {
			fmt.Fprintf(b, "| — | `%s%s` | — | %s |\n", prefix, key, f.Tag.Get("doc"))
			continue
		}
		if env == "" {
			continue
		}
		def := fmt.Sprint(v.Field(i).Interface())
		switch def {
		case "", "0", "0s":
			def = "—"
		default:
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| `%s` | `%s%s` | %s | %s |\n", env, prefix, key, def, f.Tag.Get("doc"))
	}
}
