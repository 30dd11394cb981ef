"""Shipping: couriers and their services, the rate table and the external rate source,
each store's couriers, the cost of a checkout's parcels, air-waybill numbers and the
shipping events of an order.

Orders and checkout call in with small hooks (`shipping_plan`, `shipment_record`,
`awb_check`); this package never changes an order's status itself.
"""
