package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// jobsNS is the namespace deploy/rbac declares.
const jobsNS = "campaignbot-jobs"

// deployFiles are applied in order, exactly as shipped.
var deployFiles = []string{"namespace.yaml", "serviceaccount.yaml", "role.yaml", "rolebinding.yaml"}

var (
	docSep  = regexp.MustCompile(`(?m)^---\s*$`)
	content = regexp.MustCompile(`(?m)^\w`)
)

// applyDeploy creates the objects in deploy/rbac with the admin client.
func applyDeploy(admin kubernetes.Interface) error {
	ctx := context.Background()
	for _, name := range deployFiles {
		raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rbac", name))
		if err != nil {
			return err
		}
		for _, doc := range docSep.Split(string(raw), -1) {
			if !content.MatchString(doc) {
				continue // comments only
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			switch o := obj.(type) {
			case *corev1.Namespace:
				_, err = admin.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
			case *corev1.ServiceAccount:
				_, err = admin.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			case *rbacv1.Role:
				_, err = admin.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			case *rbacv1.RoleBinding:
				_, err = admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			default:
				err = fmt.Errorf("unexpected %T", obj)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
