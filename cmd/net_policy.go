package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/netpolicy"
)

// NetPolicyOptions is everything `dbg net policy` needs.
type NetPolicyOptions struct {
	IO                   *IOStreams
	Files                []string
	From, To             string
	FromLabels, ToLabels string
	Port                 int32
	Protocol             netpolicy.Protocol
	NamespaceLabels      []string
	Format               render.Format
	Render               render.Options
}

func newCmdNetPolicy(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Would Kubernetes NetworkPolicies allow this connection? Which policy and rule decide it",
		Long: `Evaluate NetworkPolicy manifests offline (files or directories of YAML or JSON, as kubectl get
networkpolicy -A -o yaml writes them) for one connection and answer allowed or denied, with the policy and
rule that decide it. Both ends count: the source's egress and the destination's ingress must each allow it.
A pod selected by no policy of a direction is not isolated for it (all allowed); an isolated pod is allowed
only what some rule of its policies allows: rules add up, and a deny is the absence of an allow.

--from and --to are NAMESPACE/APP or an IP address (an ipBlock peer outside the cluster). NAMESPACE/APP is
the workload of that name in the manifests (Deployment, StatefulSet, DaemonSet, Pod...: its pod template's
labels and named ports), or else a pod labelled app=APP; --from-labels/--to-labels give the labels
outright. Namespace labels come from Namespace manifests in -f, or --namespace-labels NS:k=v,...; every
namespace also has kubernetes.io/metadata.name=NS, as the API server sets it. The answer lists what it
assumed.`,
		Example: `  kubectl get networkpolicy,namespace,deploy -A -o yaml > cluster.yaml
  dbg net policy --from shop/checkout --to shop/payment --port 8080 -f cluster.yaml
  dbg net policy --from monitoring/prometheus --to shop/payment --port 9090 -f k8s/ --namespace-labels monitoring:purpose=monitoring`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			o := &NetPolicyOptions{IO: f.IO, From: s.String("from"), To: s.String("to"), FromLabels: s.String("from-labels"),
				ToLabels: s.String("to-labels"), Port: int32(s.Int("port")), Protocol: netpolicy.Protocol(strings.ToUpper(s.String("protocol")))}
			o.Files, _ = cmd.Flags().GetStringArray("filename")
			o.NamespaceLabels, _ = cmd.Flags().GetStringArray("namespace-labels")
			if o.From == "" || o.To == "" || o.Port <= 0 || o.Port > 65535 || len(o.Files) == 0 {
				return usageErrorf("dbg net policy: --from, --to, --port (1-65535) and -f (manifests) are required")
			}
			switch o.Protocol {
			case netpolicy.ProtocolTCP, netpolicy.ProtocolUDP, netpolicy.ProtocolSCTP:
			default:
				return usageErrorf("--protocol %q: want TCP, UDP or SCTP", o.Protocol)
			}
			if o.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
				return err
			}
			o.Render = s.RenderOptions(f)
			return netPolicyRun(o)
		},
	}
	fl := c.Flags()
	fl.String("from", "", "source: NAMESPACE/APP or an IP address")
	fl.String("to", "", "destination: NAMESPACE/APP or an IP address")
	fl.Int("port", 0, "destination port")
	fl.String("protocol", "TCP", "TCP, UDP or SCTP")
	fl.StringArrayP("filename", "f", nil, "NetworkPolicy (and Namespace, workload) manifests: files or directories (repeatable)")
	fl.StringArray("namespace-labels", nil, "labels of a namespace without a manifest: NS:key=value,key=value (repeatable)")
	fl.String("from-labels", "", "the source pod's labels, key=value,... (instead of its workload's)")
	fl.String("to-labels", "", "the destination pod's labels, key=value,... (instead of its workload's)")
	return c
}

func netPolicyRun(o *NetPolicyOptions) error {
	m, err := netpolicy.Load(o.Files)
	if err != nil {
		return fmt.Errorf("dbg net policy: %w", err)
	}
	for _, nl := range o.NamespaceLabels {
		if err := m.SetNamespaceLabels(nl); err != nil {
			return &UsageError{Err: err}
		}
	}
	var assumptions []string
	from, err := m.Resolve(o.From, o.FromLabels, &assumptions)
	if err != nil {
		return usageErrorf("--from %v", err)
	}
	to, err := m.Resolve(o.To, o.ToLabels, &assumptions)
	if err != nil {
		return usageErrorf("--to %v", err)
	}
	v := netpolicy.Evaluate(&m.Cluster, netpolicy.Query{From: from, To: to, Port: o.Port, Protocol: o.Protocol})
	v.Assumptions = slices.Compact(append(assumptions, v.Assumptions...))
	v.Warnings = append(m.Warnings, v.Warnings...)
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	if o.Format == render.FormatJSON {
		return render.JSON(o.IO.Out, v)
	}
	return render.NetPolicy(o.IO.Out, v, o.Format == render.FormatMarkdown, o.Render)
}
