#!/usr/bin/perl
# Independent check for tests/test_auth_crosscheck.py: Perl's Mail::DKIM and Mail::SPF (Debian
# libmail-dkim-perl, libmail-spf-perl) asking the same test DNS server as lurelens.
# usage: crosscheck.pl PORT dkim < message        -> one line per signature: "dkim DOMAIN SELECTOR RESULT DETAIL"
#        crosscheck.pl PORT arc < message         -> "arc RESULT" (the chain: pass, fail, none)
#        crosscheck.pl PORT spf IP MAILFROM HELO   -> "spf RESULT"
use strict;
use warnings;
use Net::DNS::Resolver;

my ($port, $what, @args) = @ARGV;
my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port, recurse => 1,
                                  udp_timeout => 2, tcp_timeout => 2, retry => 1);
if ($what eq 'dkim') {
    require Mail::DKIM::Verifier;
    Mail::DKIM::DNS::resolver($res);
    my $v = Mail::DKIM::Verifier->new();
    binmode STDIN;
    while (my $line = <STDIN>) {
        $line =~ s/\r?\n\z/\r\n/;
        $v->PRINT($line);
    }
    $v->CLOSE;
    for my $sig ($v->signatures) {
        my $detail = $sig->result_detail // '';
        $detail =~ s/\s+/_/g;
        printf "dkim %s %s %s %s\n", lc($sig->domain // ''), $sig->selector // '', $sig->result, $detail;
    }
} elsif ($what eq 'arc') {
    require Mail::DKIM::ARC::Verifier;
    Mail::DKIM::DNS::resolver($res);
    my $v = Mail::DKIM::ARC::Verifier->new();
    binmode STDIN;
    while (my $line = <STDIN>) {
        $line =~ s/\r?\n\z/\r\n/;
        $v->PRINT($line);
    }
    $v->CLOSE;
    printf "arc %s\n", $v->result;
} elsif ($what eq 'spf') {
    require Mail::SPF;
    my ($ip, $mailfrom, $helo) = @args;
    my $server = Mail::SPF::Server->new(dns_resolver => $res);
    my $scope = length($mailfrom) ? 'mfrom' : 'helo';
    my $req = Mail::SPF::Request->new(scope => $scope, identity => (length($mailfrom) ? $mailfrom : $helo),
                                      ip_address => $ip, helo_identity => $helo);
    my $result = $server->process($req);
    printf "spf %s\n", $result->code;
} else {
    die "unknown check $what\n";
}
