package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		cf       configFlag
		grace    time.Duration
		parallel int
		timeout  time.Duration
		watch    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [--config F]",
		Short: "Run the operator: sync every environment on its schedule and on webhooks, serve the API and metrics",
		Long: `Run the GitOps operator in the foreground. Each environment is synced at start,
then on its schedule (default @every 1m) and whenever a webhook or the API asks.
SIGTERM or SIGINT stops new passes and lets a running deploy finish within the
grace period, recording its result; SIGHUP reloads the configuration (an invalid
one is rejected and the old one kept).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := g.logger()
			ctx := cmd.Context()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			metrics := server.NewMetrics(reg)
			holder := cluster.NewHolder(g.command) // one per process, across reloads
			newSyncer := func(cfg *environments.Config) *sync.Syncer {
				s := sync.New(cfg, log)
				s.Holder = holder
				s.ObserveGit = func(kind string, err error, took time.Duration) {
					metrics.ObserveGit(kind, resultOf(err), took)
				}
				s.ObserveEngine = metrics.ObserveEngine
				return s
			}
			src := &configSource{path: cf.path, log: log, newSyncer: newSyncer}
			defer src.close()
			cfg, err := src.load(ctx)
			if err != nil {
				return fmt.Errorf("starting: %w", err)
			}
			warnUnkeyed(log, cfg)
			notifier := server.NewNotifier(context.WithoutCancel(ctx), cfg.Notifications, nil, metrics, log)
			defer func() {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				notifier.Close(dctx)
			}()
			live := server.NewLive() // the dashboard's live view
			op := sync.NewOperator(newSyncer(cfg), sync.OperatorOptions{Log: log, Grace: grace, Parallel: parallel, PassTimeout: timeout,
				Observers: []sync.Observer{server.NewReporter(metrics, notifier), live}, Progress: live.Progress})

			var wg gosync.WaitGroup
			serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
			defer func() { stopServing(); wg.Wait() }()
			if cfg.Server != nil {
				srv, err := server.New(cfg.Server, op, metrics, log, server.WithLive(live))
				if err != nil {
					return fmt.Errorf("starting the server: %w", err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := srv.ListenAndServe(serveCtx); err != nil && !errors.Is(err, context.Canceled) {
						log.Error("server stopped", "err", err)
					}
				}()
			}

			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					next, err := src.load(ctx)
					if err != nil {
						log.Error("configuration reload rejected; keeping the one in force", "file", cf.path, "err", err)
						continue
					}
					if err := op.Reload(newSyncer(next)); err != nil {
						log.Error("configuration reload failed", "err", err)
						continue
					}
					log.Info("configuration reloaded", "file", cf.path, "environments", len(next.Environments))
				}
			}()
			go src.watch(serveCtx, op, watch)

			log.Info("operator started", "config", cf.path, "environments", strings.Join(cfg.EnvironmentNames(), ","))
			err = op.Run(ctx)
			log.Info("operator stopped")
			return err
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "on SIGTERM, how long a running deploy may take to finish")
	cmd.Flags().IntVar(&parallel, "parallel", 4, "environments synced at once")
	cmd.Flags().DurationVar(&watch, "watch-config", time.Minute, "how often the environments declared in Git (include:, discover:) are looked at")
	cmd.Flags().DurationVar(&timeout, "pass-timeout", 30*time.Minute, "longest one pass of an environment may take (fetch, render, deploy, rollback)")
	return cmd
}

func resultOf(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
