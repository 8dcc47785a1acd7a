package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a running operator's API, for the CLI's --server flag.
// It returns the API's types; each converts to sync's where the CLI
// renders those.
type Client struct {
	// URL is the server's base, e.g. http://127.0.0.1:8080.
	URL string
	// Token is the bearer token, needed for Sync, Rollback and Resume.
	Token string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
}

// APIError is an error answer from the server.
type APIError struct {
	Status  int
	Message string
	// Report is what a failed rollback did.
	Report *Report
}

func (e *APIError) Error() string {
	return fmt.Sprintf("operator answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Environments lists every environment with its summary.
func (c *Client) Environments(ctx context.Context) ([]EnvironmentSummary, error) {
	var out struct {
		Environments []EnvironmentSummary `json:"environments"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/environments", nil, &out)
	return out.Environments, err
}

// Status is env's full status.
func (c *Client) Status(ctx context.Context, env string) (*EnvironmentStatus, error) {
	var out EnvironmentStatus
	if err := c.do(ctx, http.MethodGet, envPath(env, ""), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// History is env's records, oldest first.
func (c *Client) History(ctx context.Context, env string) ([]Record, error) {
	var out struct {
		Records []Record `json:"records"`
	}
	err := c.do(ctx, http.MethodGet, envPath(env, "/history"), nil, &out)
	return out.Records, err
}

// Sync queues a pass of env; it returns once the operator accepted it.
func (c *Client) Sync(ctx context.Context, env string, force bool) (*Accepted, error) {
	var out Accepted
	if err := c.do(ctx, http.MethodPost, envPath(env, "/sync"), SyncRequest{Force: force}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Rollback rolls env back (to "" for the last good commit) and waits for
// the deploy. On failure the *APIError carries the report, if any.
func (c *Client) Rollback(ctx context.Context, env, to string) (*Report, error) {
	var out Report
	if err := c.do(ctx, http.MethodPost, envPath(env, "/rollback"), RollbackRequest{To: to}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Resume lifts env's pin.
func (c *Client) Resume(ctx context.Context, env string) error {
	return c.do(ctx, http.MethodPost, envPath(env, "/resume"), nil, nil)
}

func envPath(env, suffix string) string {
	return "/api/v1/environments/" + url.PathEscape(env) + suffix
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("calling the operator at %s: %w", c.URL, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("calling the operator: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the operator's answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error, Report: e.Report}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("reading the operator's answer to %s %s: %w", method, path, err)
	}
	return nil
}
