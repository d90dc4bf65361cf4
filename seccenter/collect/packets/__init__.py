"""Packet capture analysis for the ``pcap`` collector: capture-file readers, a fast header decoder, a flow
table and the application-layer parsers (DNS, HTTP, TLS, SSH, ARP, DHCP) that turn packets into events.

``capture``  pcap / pcapng records, streamed, with resynchronisation after damaged framing
``decode``   link, network and transport headers straight from the bytes (the fast path)
``flows``    the flow table, TCP stream tracking and event building (the ``Analyzer``)
``dns``, ``http``, ``tls``   message parsers that never raise on hostile input
``dhcp``     the slow path: DHCP described with scapy's full dissection
"""
