package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Lookup reads one environment variable; os.LookupEnv in production, a map in tests.
type Lookup func(key string) (string, bool)

// Load reads the optional YAML file at path ("" for none), then applies
// environment overrides through lookup (nil means os.LookupEnv). It returns
// every problem it finds in one error, so an operator fixes them in one go.
func Load(path string, lookup Lookup) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg := Default()
	var problems Problems
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, applyEnv(&cfg, lookup)...)
	if len(problems) > 0 {
		return cfg, problems
	}
	return cfg, nil
}

func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// applyEnv sets every field tagged `env:"NAME"` from the environment, and
// the GitHub App settings under go-githubapp's names.
func applyEnv(cfg *Config, lookup Lookup) Problems {
	var problems Problems
	gh := &cfg.GitHub
	setString(lookup, "GITHUB_WEB_URL", &gh.WebURL)
	setString(lookup, "GITHUB_V3_API_URL", &gh.V3APIURL)
	setString(lookup, "GITHUB_V4_API_URL", &gh.V4APIURL)
	setString(lookup, "GITHUB_APP_WEBHOOK_SECRET", &gh.App.WebhookSecret)
	setString(lookup, "GITHUB_APP_PRIVATE_KEY", &gh.App.PrivateKey)
	setString(lookup, "GITHUB_OAUTH_CLIENT_ID", &gh.OAuth.ClientID)
	setString(lookup, "GITHUB_OAUTH_CLIENT_SECRET", &gh.OAuth.ClientSecret)
	if v, ok := lookup("GITHUB_APP_INTEGRATION_ID"); ok {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("GITHUB_APP_INTEGRATION_ID: %q is not an integer", v))
		} else {
			gh.App.IntegrationID = id
		}
	}
	if v, ok := lookup("CAMPAIGN_ADMINS"); ok {
		cfg.Campaign.Admins = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.Campaign.Admins = append(cfg.Campaign.Admins, a)
			}
		}
	}
	if v, ok := lookup("SLACK_USERS"); ok {
		cfg.Slack.Users = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			id, login, ok := strings.Cut(pair, "=")
			if !ok {
				problems = append(problems, fmt.Sprintf("SLACK_USERS: %q is not SLACKUSERID=github-login", pair))
				continue
			}
			cfg.Slack.Users[strings.TrimSpace(id)] = strings.TrimSpace(login)
		}
	}
	problems = append(problems, applyTagged(reflect.ValueOf(cfg).Elem(), lookup, "")...)
	return problems
}

func setString(lookup Lookup, key string, dst *string) {
	if v, ok := lookup(key); ok {
		*dst = v
	}
}

// applyTagged sets v's env-tagged fields; a nested struct's tags are
// prefixed with its field's `envPrefix` tag (e.g. CAMPAIGN_KUBE_AGENT_ +
// CPU_REQUEST), and with prefix, the prefix of v itself.
func applyTagged(v reflect.Value, lookup Lookup, prefix string) Problems {
	var problems Problems
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			if f.Tag.Get("env") == "" {
				problems = append(problems, applyTagged(fv, lookup, prefix+f.Tag.Get("envPrefix"))...)
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		name = prefix + name
		raw, ok := lookup(name)
		if !ok {
			continue
		}
		if err := setField(fv, raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return problems
}

func setField(fv reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	switch {
	case fv.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", raw)
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", raw)
		}
		fv.SetBool(b)
	case fv.CanInt():
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		// a,b,c
		out := reflect.MakeSlice(fv.Type(), 0, 0)
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = reflect.Append(out, reflect.ValueOf(item).Convert(fv.Type().Elem()))
			}
		}
		fv.Set(out)
	case fv.Kind() == reflect.Map && fv.Type().Key().Kind() == reflect.String && fv.Type().Elem().Kind() == reflect.String:
		// key=value,key=value
		out := reflect.MakeMap(fv.Type())
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			k, val, ok := strings.Cut(item, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return fmt.Errorf("%q is not key=value[,key=value...]", raw)
			}
			out.SetMapIndex(reflect.ValueOf(strings.TrimSpace(k)).Convert(fv.Type().Key()), reflect.ValueOf(strings.TrimSpace(val)).Convert(fv.Type().Elem()))
		}
		fv.Set(out)
	case fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map:
		// Lists and maps of structured values are JSON, e.g.
		// [{"key":"dedicated","operator":"Equal","value":"batch","effect":"NoSchedule"}].
		ptr := reflect.New(fv.Type())
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(ptr.Interface()); err != nil {
			return fmt.Errorf("%q is not a JSON %s: %v", raw, fv.Kind(), err)
		}
		fv.Set(ptr.Elem())
	case fv.CanFloat():
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		fv.SetFloat(n)
	default:
		return fmt.Errorf("unsupported setting type %s", fv.Type())
	}
	return nil
}

// ApplyEnv sets the `env`-tagged fields of the struct target points to from
// lookup (nil: os.LookupEnv), for settings structs owned by other packages
// (runner/kube's Config). Every bad value is reported in one error.
func ApplyEnv(target any, lookup Lookup) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("ApplyEnv needs a pointer to a struct, got %T", target)
	}
	if p := applyTagged(v.Elem(), lookup, ""); len(p) > 0 {
		return p
	}
	return nil
}
