package artifacts

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Config configures an S3-compatible backend (AWS S3, MinIO, R2, ...).
type S3Config struct {
	// Endpoint is the service URL, e.g. http://minio:9000; empty uses AWS's
	// regional endpoint.
	Endpoint string
	Region   string
	Bucket   string
	// Prefix is prepended to every key, e.g. "campaignbot"; optional.
	Prefix string
	// Static credentials, used unless Credentials is set.
	AccessKeyID     string
	SecretAccessKey string
	Credentials     aws.CredentialsProvider
	// UsePathStyle addresses buckets as endpoint/bucket/key (MinIO and most
	// S3-compatible servers need it).
	UsePathStyle bool
	HTTPClient   *http.Client
	// SpoolDir holds uploads while they are verified (default os.TempDir()).
	SpoolDir string
}

// S3Storage stores artifacts as objects in one bucket. Put spools and
// verifies the body locally first, so a body whose size or sha256 is wrong
// never reaches the bucket, and then sends it with x-amz-checksum-sha256 so
// the service also verifies what it received. An S3 PUT is atomic: the
// object appears whole or not at all.
type S3Storage struct {
	client   *s3.Client
	bucket   string
	prefix   string
	spoolDir string
}

// metaSHA256 is the user metadata (x-amz-meta-sha256) holding the hex
// digest, read back by Get without hashing the object again.
const metaSHA256 = "sha256"

// NewS3Storage builds the client from cfg.
func NewS3Storage(cfg S3Config) (*S3Storage, error) {
	if cfg.Bucket == "" || cfg.Region == "" {
		return nil, errors.New("s3 artifact storage: bucket and region are required")
	}
	if cfg.Prefix != "" {
		if err := CheckKey(cfg.Prefix); err != nil {
			return nil, fmt.Errorf("s3 artifact storage: prefix: %w", err)
		}
	}
	creds := cfg.Credentials
	if creds == nil {
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			return nil, errors.New("s3 artifact storage: no credentials configured")
		}
		static := aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, Source: "campaignbot config"}
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return static, nil })
	}
	awsCfg := aws.Config{Region: cfg.Region, Credentials: aws.NewCredentialsCache(creds)}
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.UsePathStyle
		// Checksums only when asked for: Put asks for sha256 explicitly, and
		// the SDK's default CRC trailers are not understood by every
		// S3-compatible server.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3Storage{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, spoolDir: cfg.SpoolDir}, nil
}

func (s *S3Storage) objectKey(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// Put spools r to a temp file while checking size and sha, then uploads it.
func (s *S3Storage) Put(ctx context.Context, key string, r io.Reader, size int64, sha string) error {
	if err := checkPut(key, size, sha); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.spoolDir, "campaignbot-artifact-*")
	if err != nil {
		return fmt.Errorf("put %s: spool: %w", key, err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) //nolint:errcheck // best effort: a private temp file
	}()
	if _, err := io.Copy(f, &ctxReader{ctx: ctx, r: newVerifyingReader(r, size, sha)}); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("put %s: spool: %w", key, err)
	}
	digest, err := hex.DecodeString(sha)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// The body is an *os.File, seekable: the SDK can sign it and retry.
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(s.bucket),
		Key:            aws.String(s.objectKey(key)),
		Body:           f,
		ContentLength:  aws.Int64(size),
		ContentType:    aws.String("application/octet-stream"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(digest)),
		Metadata:       map[string]string{metaSHA256: sha},
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get streams the object.
func (s *S3Storage) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil {
		if isS3NotFound(err) {
			return nil, Info{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	info := Info{Size: aws.ToInt64(out.ContentLength), SHA256: out.Metadata[metaSHA256]}
	return out.Body, info, nil
}

// Delete removes the object; S3 answers a missing key with success too.
func (s *S3Storage) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil && !isS3NotFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func isS3NotFound(err error) bool {
	// A missing bucket is a misconfiguration, not a missing artifact.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotFound
}
